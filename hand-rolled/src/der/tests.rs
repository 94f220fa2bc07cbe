//! Table tests against a CA certificate and a CSR made by `openssl req` (independent of koi
//! and of rcgen), and the named hostile-input classes: bad lengths, high tags, truncation,
//! trailing bytes, bad times and OIDs. Expected values were read off `openssl x509 -dates
//! -ext subjectKeyIdentifier` and `openssl asn1parse` when the fixtures were made.

use super::x509::*;
use super::*;

const CA: &[u8] = include_bytes!("testdata/ca.der");
const CSR: &[u8] = include_bytes!("testdata/beta.csr.der");

#[test]
fn openssl_ca_certificate_fields() {
    let c = parse_certificate(CA).unwrap();
    assert_eq!(c.not_before, 1_795_381_719); // UTCTime 261122210839Z
    assert_eq!(c.not_after, 2_659_381_719); // GeneralizedTime 20540409210839Z
    assert_eq!(c.subject, c.issuer, "self-signed");
    let names = name_attributes(c.subject).unwrap();
    assert_eq!(names.len(), 2);
    assert_eq!(names[0].oid, [0x55, 0x04, 0x03]); // commonName
    assert_eq!(names[0].string_tag, tag::UTF8_STRING);
    assert_eq!(names[0].value, b"koi test CA");
    assert_eq!(names[1].value, b"koi certmesh");
    assert_eq!(c.public_key.algorithm, OID_EC_PUBLIC_KEY);
    assert_eq!(c.public_key.curve, Some(OID_P256));
    assert_eq!(c.public_key.key.len(), 65);
    assert_eq!(c.public_key.key[0], 4, "uncompressed point");
    let ski = c.subject_key_id().unwrap().unwrap();
    assert_eq!(ski[..4], [0x3d, 0xdc, 0xbb, 0xba]);
    let nc = c.extension(OID_NAME_CONSTRAINTS).unwrap();
    assert!(nc.critical);
    assert!(nc.value.windows(9).any(|w| w == b"home.arpa"));
}

#[test]
fn openssl_csr_fields() {
    let r = parse_cert_request(CSR).unwrap();
    assert_eq!(r.signature_algorithm, OID_ECDSA_SHA256);
    assert_eq!(r.public_key.curve, Some(OID_P256));
    let names = name_attributes(r.subject).unwrap();
    assert_eq!(names.len(), 1);
    assert_eq!(names[0].value, b"beta");
    // The signed part is the first item inside the outer SEQUENCE.
    assert_eq!(&CSR[3..3 + r.signed.len()], r.signed);
    assert_eq!(r.signature[0], 0x30, "an ECDSA signature is a DER SEQUENCE");
}

#[test]
fn every_truncation_and_every_byte_flip_is_an_error_or_a_clean_parse() {
    for input in [CA, CSR] {
        for n in 0..input.len() {
            assert!(parse_certificate(&input[..n]).is_err(), "cert cut at {n}");
            assert!(parse_cert_request(&input[..n]).is_err(), "csr cut at {n}");
        }
        let mut flipped = input.to_vec();
        for i in 0..flipped.len() {
            for bit in [0x01, 0x80] {
                flipped[i] ^= bit;
                super::fuzzing::der_x509(&flipped);
                flipped[i] ^= bit;
            }
        }
    }
}

#[test]
fn trailing_bytes_after_the_certificate_are_refused() {
    let mut long = CA.to_vec();
    long.push(0);
    assert_eq!(parse_certificate(&long), Err(DerError::Trailing));
}

#[test]
fn lengths_must_be_minimal_and_definite() {
    assert_eq!(single(&[0x04, 0x80, 0, 0], 0x04), Err(DerError::BadLength)); // indefinite
    assert_eq!(
        single(&[0x04, 0x81, 0x05, 1, 2, 3, 4, 5], 0x04),
        Err(DerError::BadLength)
    );
    assert_eq!(
        single(&[0x04, 0x82, 0x00, 0x80], 0x04),
        Err(DerError::BadLength)
    );
    assert_eq!(
        single(&[0x04, 0x85, 1, 0, 0, 0, 0], 0x04),
        Err(DerError::BadLength)
    );
    // A length past the end, even a huge one, is truncation, not an allocation.
    assert_eq!(
        single(&[0x04, 0x84, 0xff, 0xff, 0xff, 0xff], 0x04),
        Err(DerError::Truncated)
    );
    let mut ok = vec![0x04, 0x81, 0x80];
    ok.extend([7u8; 0x80]);
    assert_eq!(single(&ok, 0x04).unwrap().value.len(), 0x80);
}

#[test]
fn high_tag_numbers_and_wrong_tags_are_refused() {
    assert_eq!(single(&[0x1f, 0x81, 0x00], 0x1f), Err(DerError::BadTag));
    assert_eq!(
        single(&[0x02, 0x01, 0x00], tag::SEQUENCE),
        Err(DerError::Unexpected {
            want: tag::SEQUENCE,
            got: tag::INTEGER
        })
    );
    assert_eq!(single(&[], 0x02), Err(DerError::Truncated));
}

#[test]
fn times_in_both_forms_and_their_edges() {
    let t = |tag: u8, s: &str| {
        time(&Tlv {
            tag,
            value: s.as_bytes(),
            raw: &[],
        })
    };
    assert_eq!(t(tag::UTC_TIME, "500101000000Z"), Ok(-631_152_000)); // 1950
    assert_eq!(t(tag::UTC_TIME, "491231235959Z"), Ok(2_524_607_999)); // 2049
    assert_eq!(t(tag::GENERALIZED_TIME, "20000229000000Z"), Ok(951_782_400));
    for bad in [
        "5001010000Z",     // too short
        "500101000000+01", // not Z
        "501301000000Z",   // month 13
        "500100000000Z",   // day 0
        "50010124000 Z",   // not a digit
    ] {
        assert!(t(tag::UTC_TIME, bad).is_err(), "{bad}");
    }
    assert!(t(tag::OCTET_STRING, "500101000000Z").is_err());
}

#[test]
fn object_identifiers() {
    assert_eq!(
        oid_arcs(OID_ECDSA_SHA256).unwrap(),
        [1, 2, 840, 10045, 4, 3, 2]
    );
    assert_eq!(oid_arcs(&[0x55, 0x1d, 0x0e]).unwrap(), [2, 5, 29, 14]);
    assert!(oid_arcs(&[]).is_err());
    assert!(oid_arcs(&[0x2a, 0x86]).is_err(), "unterminated arc");
    assert!(oid_arcs(&[0x2a, 0x80, 0x01]).is_err(), "non-minimal arc");
    assert!(oid_arcs(&[0xff; 20]).is_err(), "arc overflow");
    assert!(oid_arcs(&[0x01; 40]).is_err(), "too many arcs");
}

#[test]
fn a_multi_valued_rdn_is_refused() {
    // SEQUENCE { SET { ATV, ATV } }
    let atv = [0x30, 0x07, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, 0x00];
    let mut set = vec![0x31, 18];
    set.extend(atv);
    set.extend(atv);
    let mut name = vec![0x30, set.len() as u8];
    name.extend(set);
    assert_eq!(name_attributes(&name), Err(DerError::Trailing));
}
