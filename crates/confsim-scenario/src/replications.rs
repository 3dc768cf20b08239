//! Statistics over replications (a sweep's seeds): the mean, the sample standard deviation and
//! the 95% confidence interval of the mean, by Student's t distribution, whose quantiles
//! matter most for the few seeds a sweep usually runs (12.7 for two, 2.78 for five).
//!
//! The t quantile is computed, not looked up: Newton's method on the distribution function,
//! which is the density integrated by Simpson's rule. The density of an integer number of
//! degrees of freedom needs only `+ − × ÷` and `sqrt` (no `ln`, `exp` or `lgamma`, whose
//! last bits libm need not agree on across systems), so a sweep's files are the same bytes on
//! any machine that merges it.

use serde::Serialize;

/// The mean, standard deviation and 95% confidence interval of the mean of some values.
#[derive(Copy, Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    pub n: u64,
    pub mean: f64,
    /// The sample standard deviation (divisor n − 1); `None` for fewer than two values.
    pub sd: Option<f64>,
    /// `mean ± t(0.975, n − 1) · sd / √n`; `None` for fewer than two values.
    pub ci95: Option<(f64, f64)>,
}

/// Summarizes `values` (in the order given: the sums are the same bytes for the same order).
/// `t` is `t_quantile_975(n − 1)` when the caller has it at hand (one per cell, not per
/// metric), or `None` to compute it.
pub fn summarize(values: &[f64], t: Option<f64>) -> Summary {
    let n = values.len();
    if n == 0 {
        return Summary {
            n: 0,
            mean: 0.0,
            sd: None,
            ci95: None,
        };
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return Summary {
            n: n as u64,
            mean,
            sd: None,
            ci95: None,
        };
    }
    let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    let sd = (squares / (n - 1) as f64).sqrt();
    let t = t.unwrap_or_else(|| t_quantile_975((n - 1) as u64));
    let half = t * sd / (n as f64).sqrt();
    Summary {
        n: n as u64,
        mean,
        sd: Some(sd),
        ci95: Some((mean - half, mean + half)),
    }
}

/// `x` to the `k`-th power by squaring (written out: `powi` is an intrinsic whose rounding
/// the language does not promise).
fn pow(mut x: f64, mut k: u64) -> f64 {
    let mut out = 1.0;
    while k > 0 {
        if k & 1 == 1 {
            out *= x;
        }
        x *= x;
        k >>= 1;
    }
    out
}

/// The density of Student's t with `df` degrees of freedom at `u`, without its constant:
/// `(1 + u²/df)^(−(df + 1)/2)`.
fn kernel(df: u64, u: f64) -> f64 {
    let b = 1.0 + u * u / df as f64;
    let whole = pow(b, df.div_ceil(2));
    // (df + 1)/2 is whole for odd df and whole + ½ for even df.
    if df % 2 == 1 {
        1.0 / whole
    } else {
        // b^(df/2) · √b
        1.0 / (pow(b, df / 2) * b.sqrt())
    }
}

/// The density's constant `Γ((df + 1)/2) / (√(df·π) · Γ(df/2))`, from the ratio's recurrence
/// `r(ν + 2) = r(ν) · (ν + 1)/ν` with `r(1) = 1/√π` and `r(2) = √π/2`.
fn constant(df: u64) -> f64 {
    let pi = std::f64::consts::PI;
    let mut nu = if df % 2 == 1 { 1 } else { 2 };
    let mut ratio = if nu == 1 {
        1.0 / pi.sqrt()
    } else {
        pi.sqrt() / 2.0
    };
    while nu < df {
        ratio *= (nu + 1) as f64 / nu as f64;
        nu += 2;
    }
    ratio / (df as f64 * pi).sqrt()
}

/// `∫ kernel` over `[a, b]` by Simpson's rule.
fn simpson(df: u64, a: f64, b: f64) -> f64 {
    const STEPS: u32 = 512; // even
    let h = (b - a) / f64::from(STEPS);
    let mut sum = kernel(df, a) + kernel(df, b);
    for i in 1..STEPS {
        let weight = if i % 2 == 1 { 4.0 } else { 2.0 };
        sum += weight * kernel(df, a + h * f64::from(i));
    }
    sum * h / 3.0
}

/// The 0.975 quantile of Student's t with `df` degrees of freedom (the half-width factor of a
/// two-sided 95% interval): 12.706 for one degree, 2.776 for four, 1.960 in the limit. `df` 0
/// has none: `NaN`.
pub fn t_quantile_975(df: u64) -> f64 {
    if df == 0 {
        return f64::NAN;
    }
    let c = constant(df);
    // Find q with c·∫₀^q kernel = 0.475. The distribution function is concave right of 0, so
    // Newton's steps from 0 approach the root from below, never past it; each step integrates
    // only the stretch it adds.
    let (mut q, mut area) = (0.0_f64, 0.0_f64);
    for _ in 0..200 {
        let step = (0.475 - area) / (c * kernel(df, q));
        if step <= 1e-13 * q.max(1.0) {
            break;
        }
        area += c * simpson(df, q, q + step);
        q += step;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The two-sided 95% values of Student's t tables (e.g. NIST/SEMATECH e-Handbook 1.4.2.3,
    /// three decimals).
    #[test]
    fn t_quantiles_match_the_tables() {
        for (df, table) in [
            (1, 12.706),
            (2, 4.303),
            (3, 3.182),
            (4, 2.776),
            (5, 2.571),
            (6, 2.447),
            (7, 2.365),
            (8, 2.306),
            (9, 2.262),
            (10, 2.228),
            (15, 2.131),
            (20, 2.086),
            (30, 2.042),
            (60, 2.000),
            (100, 1.984),
            (120, 1.980),
        ] {
            let q = t_quantile_975(df);
            assert!((q - table).abs() < 5e-4, "df {df}: {q} against {table}");
        }
        // The normal distribution's 1.95996 in the limit.
        assert!((t_quantile_975(100_000) - 1.959_96).abs() < 1e-4);
        assert!(t_quantile_975(0).is_nan());
    }

    #[test]
    fn the_density_integrates_to_one() {
        for df in [1, 2, 5, 30] {
            // Half the mass lies in [0, ∞); most of it in [0, 1000] even for the Cauchy.
            let half = constant(df) * simpson(df, 0.0, 10.0);
            assert!(half > 0.46 && half < 0.5, "df {df}: {half}");
        }
        let normal_like = constant(1000) * simpson(1000, 0.0, 10.0);
        assert!((normal_like - 0.5).abs() < 1e-9, "{normal_like}");
    }

    #[test]
    fn a_summary_has_the_textbook_mean_deviation_and_interval() {
        let s = summarize(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0], None);
        assert_eq!((s.n, s.mean), (8, 5.0));
        let sd = s.sd.unwrap();
        assert!((sd - (32.0_f64 / 7.0).sqrt()).abs() < 1e-12, "{sd}");
        // t(0.975, 7) = 2.3646: 5 ± 2.3646 · 2.1381 / √8 = 5 ± 1.7875.
        let (lo, hi) = s.ci95.unwrap();
        assert!(
            (lo - 3.2125).abs() < 1e-3 && (hi - 6.7875).abs() < 1e-3,
            "{lo} {hi}"
        );
        // Equal values: no spread, an interval of width zero.
        let same = summarize(&[3.0; 5], None);
        assert_eq!(
            (same.mean, same.sd, same.ci95),
            (3.0, Some(0.0), Some((3.0, 3.0)))
        );
        // One value: a mean, nothing else.
        let one = summarize(&[7.0], None);
        assert_eq!((one.n, one.mean, one.sd, one.ci95), (1, 7.0, None, None));
        assert_eq!(summarize(&[], None).n, 0);
    }
}
