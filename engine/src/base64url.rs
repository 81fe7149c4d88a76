//! Base64url without padding (RFC 4648 §5), decoded with plain table arithmetic.
//! Everything the engine decodes is public (signed payloads and their headers,
//! signatures, public keys, hashed values), so `base64ct`'s constant-time decoder, which
//! took a fifth of an edge's reload natively (BENCHMARKS.md), buys nothing here.
//! It accepts exactly what `base64ct::Base64UrlUnpadded` accepts: no padding, no other
//! characters, no length of the form 4n + 1, and no bits set past the last byte (a test
//! holds the two together). Encoding stays with `base64ct`.

use alloc::vec::Vec;

/// The bytes `text` encodes, or `None` if it is not canonical unpadded base64url.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 4 * 3 + 2);
    let mut quads = bytes.chunks_exact(4);
    for quad in &mut quads {
        let n = sextets(quad)?;
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    let rest = quads.remainder();
    let n = sextets(rest)?;
    match rest.len() {
        0 => {}
        // Twelve bits: one byte and four bits that must be zero.
        2 if n & 0xf == 0 => out.push((n >> 4) as u8),
        // Eighteen bits: two bytes and two bits that must be zero.
        3 if n & 0x3 == 0 => out.extend_from_slice(&[(n >> 10) as u8, (n >> 2) as u8]),
        _ => return None,
    }
    Some(out)
}

/// Up to four characters as one number, six bits each; `None` if one is not base64url.
fn sextets(chars: &[u8]) -> Option<u32> {
    let mut n = 0;
    let mut invalid = 0;
    for &c in chars {
        // Every `u8` indexes the table; the fallback is never taken.
        let value = SEXTET.get(usize::from(c)).copied().unwrap_or(INVALID);
        invalid |= value;
        n = (n << 6) | u32::from(value & 0x3f);
    }
    (invalid & INVALID == 0).then_some(n)
}

/// Each byte's six bits, or `INVALID`.
const INVALID: u8 = 0x80;
// Built at compile time: an index out of range would fail the build, not a run.
#[allow(clippy::indexing_slicing)]
const SEXTET: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        let c = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"[i];
        table[c as usize] = i as u8;
        i += 1;
    }
    table
};

#[cfg(test)]
mod tests {
    use alloc::string::String;

    use base64ct::{Base64UrlUnpadded, Encoding};

    use super::*;

    fn agrees(text: &str) {
        assert_eq!(
            decode(text),
            Base64UrlUnpadded::decode_vec(text).ok(),
            "{text:?}"
        );
    }

    #[test]
    fn accepts_exactly_what_base64ct_accepts() {
        // Every string of up to three characters over the alphabet and its neighbours.
        let chars: Vec<char> = ('A'..='Z')
            .chain('a'..='z')
            .chain('0'..='9')
            .chain(['-', '_', '+', '/', '=', ' ', '.', '\n', 'é'])
            .collect();
        agrees("");
        for a in &chars {
            agrees(&String::from(*a));
            for b in &chars {
                agrees(&[*a, *b].iter().collect::<String>());
                for c in &chars {
                    agrees(&[*a, *b, *c].iter().collect::<String>());
                }
            }
        }
        // Longer strings, mostly valid, some with one character changed.
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let len = (next() % 64) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let mut text = Base64UrlUnpadded::encode_string(&bytes);
            agrees(&text);
            if !text.is_empty() {
                let at = (next() as usize) % text.len();
                let with = *chars.get((next() as usize) % chars.len()).unwrap();
                text.replace_range(at..=at, &String::from(with));
                agrees(&text);
                text.push('A');
                agrees(&text);
            }
        }
    }
}
