//! Randomness from the operating system's CSPRNG: the one source every
//! secret of harmont-auth (tokens, keys, nonces, codes, link and ceremony
//! secrets, the server's generated secret) is drawn from.

/// `N` random bytes.
pub fn bytes<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    fill(&mut out);
    out
}

/// Draws `len` characters uniformly from `alphabet` (rejection sampling, so no
/// character is more likely than another).
pub(crate) fn string_from(alphabet: &[u8], len: usize) -> String {
    debug_assert!(!alphabet.is_empty() && alphabet.len() <= 256);
    // Largest multiple of the alphabet size that fits a byte; bytes at or above it are redrawn.
    let limit = 256 - (256 % alphabet.len());
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        fill(&mut buf);
        for &b in &buf {
            if (b as usize) < limit && out.len() < len {
                out.push(alphabet[b as usize % alphabet.len()] as char);
            }
        }
    }
    out
}

/// Fills `buf` from the OS CSPRNG. An OS without one cannot run this service.
pub fn fill(buf: &mut [u8]) {
    getrandom::fill(buf).expect("the operating system's random number generator failed");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 62 characters, as in session tokens (256 is not a multiple of 62, so
    /// bytes 248 to 255 must be redrawn), in no particular order.
    const ALPHABET: &[u8] = b"zyx0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvw";

    #[test]
    fn draws_the_length_asked_from_the_alphabet() {
        for len in [0, 1, 16, 43, 64, 65, 200] {
            let drawn = string_from(ALPHABET, len);
            assert_eq!(drawn.len(), len);
            assert!(drawn.bytes().all(|b| ALPHABET.contains(&b)), "{drawn}");
        }
        assert_eq!(string_from(b"Q", 5), "QQQQQ");
        let two = string_from(b"-_", 200);
        assert!(two.contains('-') && two.contains('_'), "{two}");
    }

    /// Every character equally likely: a chi-square test of 620,000 draws
    /// over 62 characters (61 degrees of freedom). A fair sampler exceeds
    /// 200 with a probability of about 1e-16; a rejection bound off by one
    /// (one character drawn 5 times in 249 instead of 4 in 248) scores
    /// about 600, and skipping the rejection about 4,000.
    #[test]
    fn draws_are_uniform() {
        const PER_CHARACTER: usize = 10_000;
        let drawn = string_from(ALPHABET, ALPHABET.len() * PER_CHARACTER);
        let mut counts = [0usize; 256];
        for b in drawn.bytes() {
            counts[usize::from(b)] += 1;
        }
        let expected = PER_CHARACTER as f64;
        let chi_square: f64 = ALPHABET
            .iter()
            .map(|&c| {
                let diff = counts[usize::from(c)] as f64 - expected;
                diff * diff / expected
            })
            .sum();
        assert!(chi_square < 200.0, "chi-square {chi_square:.1} over 61 degrees of freedom: the draws are biased");
    }

    #[test]
    fn fill_fills() {
        // 64 zero bytes from a working CSPRNG: odds of 2^-512.
        let mut buf = [0u8; 64];
        fill(&mut buf);
        assert_ne!(buf, [0u8; 64]);
    }
}
