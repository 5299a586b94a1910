//! Figures over measurements: the one quantile rule that the simulation, the tests and the
//! benchmarks report by.

/// The `q` quantile (0 to 1) of `v`, by nearest rank (`q = 1` is the maximum); `NaN` for an empty
/// slice.
#[must_use]
pub fn quantile(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    s[((s.len() - 1) as f64 * q.clamp(0.0, 1.0)).round() as usize]
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn nearest_rank_of_an_unsorted_slice() {
        let v = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!((quantile(&v, 0.0), quantile(&v, 0.5), quantile(&v, 0.74), quantile(&v, 1.0)), (1.0, 3.0, 4.0, 5.0));
        assert!(quantile(&[], 0.5).is_nan());
    }
}
