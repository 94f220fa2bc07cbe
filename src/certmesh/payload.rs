//! What `ca-key.enc` holds: the CA's PKCS#8 key and the TOTP shared secret, so the secret is
//! encrypted alongside the CA key under the same master key.
//!
//! Layout: `KOI1` ‖ u16 BE key length ‖ key ‖ TOTP secret. Parsing never panics.

use crate::base::Secret;

const MAGIC: &[u8; 4] = b"KOI1";

/// Packs the key and the TOTP secret.
pub fn pack(pkcs8: &Secret, totp: &Secret) -> Result<Secret, String> {
    let k = pkcs8.expose();
    let len = u16::try_from(k.len()).map_err(|_| "CA key too large".to_string())?;
    let mut out = Vec::with_capacity(6 + k.len() + totp.expose().len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(k);
    out.extend_from_slice(totp.expose());
    Ok(Secret::new(out))
}

/// Unpacks into (key, TOTP secret).
pub fn unpack(payload: &Secret) -> Result<(Secret, Secret), String> {
    let p = payload.expose();
    let bad = || "ca-key.enc does not hold a koi CA key and TOTP secret".to_string();
    if p.len() < 6 || &p[..4] != MAGIC {
        return Err(bad());
    }
    let len = usize::from(u16::from_be_bytes([p[4], p[5]]));
    let key = p.get(6..6 + len).ok_or_else(bad)?;
    let totp = p.get(6 + len..).ok_or_else(bad)?;
    if totp.len() < 16 {
        return Err(bad());
    }
    Ok((Secret::new(key.to_vec()), Secret::new(totp.to_vec())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_garbage() {
        let p = pack(&Secret::new(vec![7; 138]), &Secret::new(vec![9; 20])).unwrap();
        let (k, t) = unpack(&p).unwrap();
        assert_eq!(k.expose(), &[7; 138][..]);
        assert_eq!(t.expose(), &[9; 20][..]);
        for n in 0..p.expose().len() {
            let cut = Secret::new(p.expose()[..n].to_vec());
            let _ = unpack(&cut);
        }
        assert!(unpack(&Secret::new(b"KOI1\xff\xffxx".to_vec())).is_err());
    }
}
