//! Envelope tests against real files in a scratch directory. Most use tiny Argon2 parameters
//! (64 KiB, one pass) so that tampering can be tried at every byte; one uses the defaults.

use super::codec::{b64_decode, b64_encode};
use super::*;
use crate::base::{hex, OsRandom};
use crate::state::StateErrorKind;
use koi_wire::totp::{format_code, hotp, step, TotpError};
use miniserde::json::{self, Object, Value};
use std::os::unix::fs::PermissionsExt;

const SMALL: KdfParams = KdfParams {
    m_cost_kib: 64,
    t_cost: 1,
    p_cost: 1,
};

const PASSPHRASE: &str = "correct horse battery staple";
const TOTP_SECRET: &[u8; 20] = b"totp-secret-20-bytes";

/// Stand-in for a PKCS#8 DER (the envelope treats it as opaque bytes).
fn ca_der() -> Vec<u8> {
    (0..138u32).map(|i| (i * 37 + 11) as u8).collect()
}

fn pass(s: &str) -> Secret {
    Secret::new(s.as_bytes().to_vec())
}

/// A scratch directory removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir =
            std::env::temp_dir().join(format!("koi-envelope-test-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.file(name)).unwrap()
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.file(name), bytes).unwrap();
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn create(s: &Scratch) -> Envelope {
    Envelope::create(&s.0, &ca_der(), &pass(PASSPHRASE), SMALL, &mut OsRandom).unwrap()
}

/// An envelope with passphrase, auto-unlock and TOTP slots.
fn create_full(s: &Scratch) -> Envelope {
    let mut env = create(s);
    let master = env
        .unwrap_master_with_passphrase(&pass(PASSPHRASE))
        .unwrap();
    env.add_auto_unlock(&master).unwrap();
    env.add_totp_slot(&master, &Secret::new(TOTP_SECRET.to_vec()), &mut OsRandom)
        .unwrap();
    env
}

fn slots_json(s: &Scratch) -> Value {
    json::from_str(std::str::from_utf8(&s.read(SLOTS_FILE)).unwrap()).unwrap()
}

fn slot_mut(top: &mut Value, index: usize) -> &mut Object {
    let Value::Object(top) = top else { panic!() };
    let Some(Value::Array(slots)) = top.get_mut("slots") else {
        panic!()
    };
    let Value::Object(slot) = &mut slots[index] else {
        panic!()
    };
    slot
}

fn wrapped_mut(top: &mut Value, index: usize) -> &mut Object {
    let Some(Value::Object(w)) = slot_mut(top, index).get_mut("wrapped_master_key") else {
        panic!()
    };
    w
}

/// The decoded bytes of `wrapped_master_key.<field>` in slot `index`.
fn wrapped_field(s: &Scratch, index: usize, field: &str) -> Vec<u8> {
    let mut top = slots_json(s);
    let Some(Value::String(text)) = wrapped_mut(&mut top, index).get(field) else {
        panic!("{field}")
    };
    b64_decode(text).unwrap()
}

/// Rewrites slot `index`'s `wrapped_master_key.<field>` with `bytes`.
fn set_wrapped_field(s: &Scratch, index: usize, field: &str, bytes: &[u8]) {
    let mut top = slots_json(s);
    wrapped_mut(&mut top, index).insert(field.into(), Value::String(b64_encode(bytes)));
    s.write(SLOTS_FILE, json::to_string(&top).as_bytes());
}

fn index_of(env: &Envelope, method: &str) -> usize {
    env.slots
        .slots
        .iter()
        .position(|s| s.method() == method)
        .unwrap()
}

#[test]
fn the_passphrase_unlocks_and_a_wrong_one_fails() {
    let s = Scratch::new("pass");
    create(&s);
    let env = Envelope::open(&s.0).unwrap();
    assert_eq!(
        env.unlock_with_passphrase(&pass(PASSPHRASE))
            .unwrap()
            .expose(),
        &ca_der()[..]
    );
    for wrong in [
        "correct horse battery stapl",
        "Correct horse battery staple",
        "x",
    ] {
        assert_eq!(
            env.unlock_with_passphrase(&pass(wrong)),
            Err(EnvelopeError::WrongPassphrase {
                path: s.file(SLOTS_FILE)
            })
        );
    }
    assert_eq!(env.available_methods(), ["passphrase"]);
}

#[test]
fn files_are_owner_only_and_the_table_has_the_documented_shape() {
    let s = Scratch::new("shape");
    create_full(&s);
    for name in [CA_KEY_FILE, SLOTS_FILE, MASTER_KEY_FILE] {
        let mode = std::fs::metadata(s.file(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
    let dir_mode = std::fs::metadata(&s.0).unwrap().permissions().mode();
    assert_eq!(dir_mode & 0o777, 0o700);
    let mut top = slots_json(&s);
    let Value::Object(o) = &top else { panic!() };
    assert!(matches!(
        o.get("version"),
        Some(Value::Number(json::Number::U64(1)))
    ));
    let types: Vec<String> = (0..3)
        .map(|i| match slot_mut(&mut top, i).get("type") {
            Some(Value::String(t)) => t.clone(),
            _ => panic!(),
        })
        .collect();
    assert_eq!(types, ["passphrase", "auto_unlock", "totp"]);
    assert_eq!(wrapped_field(&s, 0, "ciphertext").len(), 48);
    assert_eq!(wrapped_field(&s, 0, "nonce").len(), 12);
    assert_eq!(wrapped_field(&s, 0, "salt").len(), 16);
    assert_eq!(wrapped_field(&s, 2, "nonce").len(), 12);
    assert!(matches!(
        slot_mut(&mut top, 2).get("shared_secret_hex"),
        Some(Value::String(h)) if *h == hex(TOTP_SECRET)
    ));
}

#[test]
fn every_byte_flip_in_ca_key_enc_is_rejected() {
    let s = Scratch::new("flip-ca");
    create_full(&s);
    let good = s.read(CA_KEY_FILE);
    assert_eq!(good.len(), 8 + 12 + ca_der().len() + 16);
    for pos in 0..good.len() {
        for mask in [0x01, 0x80] {
            let mut bad = good.clone();
            bad[pos] ^= mask;
            s.write(CA_KEY_FILE, &bad);
            let result = Envelope::open(&s.0).and_then(|env| env.unlock_with_auto());
            assert!(result.is_err(), "flip {mask:#x} at {pos} accepted");
        }
    }
    s.write(CA_KEY_FILE, &good);
    let env = Envelope::open(&s.0).unwrap();
    assert_eq!(env.unlock_with_auto().unwrap().expose(), &ca_der()[..]);
    // The passphrase path reports the damaged file by name.
    let mut bad = good.clone();
    bad[40] ^= 1;
    s.write(CA_KEY_FILE, &bad);
    let env = Envelope::open(&s.0).unwrap();
    let err = env.unlock_with_passphrase(&pass(PASSPHRASE)).unwrap_err();
    assert!(
        matches!(&err, EnvelopeError::State(e) if e.path == s.file(CA_KEY_FILE)
            && matches!(e.kind, StateErrorKind::Corrupt(_))),
        "{err:?}"
    );
}

#[test]
fn every_truncation_of_ca_key_enc_is_rejected() {
    let s = Scratch::new("trunc-ca");
    create_full(&s);
    let good = s.read(CA_KEY_FILE);
    for len in 0..good.len() {
        s.write(CA_KEY_FILE, &good[..len]);
        let result = Envelope::open(&s.0).and_then(|env| env.unlock_with_auto());
        assert!(result.is_err(), "truncation to {len} accepted");
    }
}

#[test]
fn every_byte_flip_in_the_passphrase_slot_is_rejected() {
    let s = Scratch::new("flip-pass");
    create(&s);
    for field in ["ciphertext", "nonce", "salt"] {
        let good = wrapped_field(&s, 0, field);
        for pos in 0..good.len() {
            let mut bad = good.clone();
            bad[pos] ^= 0x01;
            set_wrapped_field(&s, 0, field, &bad);
            let env = Envelope::open(&s.0).unwrap();
            assert!(
                matches!(
                    env.unlock_with_passphrase(&pass(PASSPHRASE)),
                    Err(EnvelopeError::WrongPassphrase { .. })
                ),
                "{field} flip at {pos} accepted"
            );
        }
        set_wrapped_field(&s, 0, field, &good);
    }
    let env = Envelope::open(&s.0).unwrap();
    assert!(env.unlock_with_passphrase(&pass(PASSPHRASE)).is_ok());
}

#[test]
fn every_byte_flip_in_the_totp_slot_is_rejected() {
    let s = Scratch::new("flip-totp");
    let env = create_full(&s);
    let i = index_of(&env, "totp");
    let secret = Secret::new(TOTP_SECRET.to_vec());
    for field in ["ciphertext", "nonce"] {
        let good = wrapped_field(&s, i, field);
        for pos in 0..good.len() {
            let mut bad = good.clone();
            bad[pos] ^= 0x01;
            set_wrapped_field(&s, i, field, &bad);
            let env = Envelope::open(&s.0).unwrap();
            assert!(
                matches!(
                    env.unlock_with_totp_secret(&secret),
                    Err(EnvelopeError::WrongTotpSecret { .. })
                ),
                "{field} flip at {pos} accepted"
            );
        }
        set_wrapped_field(&s, i, field, &good);
    }
    let env = Envelope::open(&s.0).unwrap();
    assert!(env.unlock_with_totp_secret(&secret).is_ok());
}

#[test]
fn every_truncation_of_a_wrapped_key_is_rejected() {
    let s = Scratch::new("trunc-wrapped");
    let env = create_full(&s);
    let t = index_of(&env, "totp");
    let secret = Secret::new(TOTP_SECRET.to_vec());
    for (slot, field) in [
        (0, "ciphertext"),
        (0, "nonce"),
        (0, "salt"),
        (t, "ciphertext"),
        (t, "nonce"),
    ] {
        let good = wrapped_field(&s, slot, field);
        for len in 0..good.len() {
            set_wrapped_field(&s, slot, field, &good[..len]);
            let result = Envelope::open(&s.0).and_then(|env| {
                if slot == 0 {
                    env.unlock_with_passphrase(&pass(PASSPHRASE))
                } else {
                    env.unlock_with_totp_secret(&secret)
                }
            });
            assert!(
                result.is_err(),
                "slot {slot} {field} truncated to {len} accepted"
            );
        }
        set_wrapped_field(&s, slot, field, &good);
    }
}

#[test]
fn every_truncation_of_unlock_slots_json_is_an_error_naming_it_and_leaves_it_alone() {
    let s = Scratch::new("trunc-json");
    create_full(&s);
    let good = s.read(SLOTS_FILE);
    for len in 0..good.len() {
        // A trailing newline or closing brace alone can go without changing the meaning.
        let prefix = &good[..len];
        if std::str::from_utf8(prefix).map(str::trim_end)
            == std::str::from_utf8(&good).map(str::trim_end)
        {
            continue;
        }
        s.write(SLOTS_FILE, prefix);
        let err = Envelope::open(&s.0).unwrap_err();
        assert!(
            err.to_string().contains(SLOTS_FILE),
            "truncated to {len}: {err}"
        );
        assert_eq!(s.read(SLOTS_FILE), prefix, "file rewritten");
    }
}

#[test]
fn every_flip_or_truncation_of_the_auto_unlock_key_is_rejected() {
    let s = Scratch::new("flip-master");
    create_full(&s);
    let good = s.read(MASTER_KEY_FILE);
    assert_eq!(good.len(), 40);
    let env = Envelope::open(&s.0).unwrap();
    for pos in 0..good.len() {
        let mut bad = good.clone();
        bad[pos] ^= 0x01;
        s.write(MASTER_KEY_FILE, &bad);
        assert!(env.unlock_with_auto().is_err(), "flip at {pos}");
        assert!(env.unwrap_master_with_auto().is_err(), "flip at {pos}");
    }
    for len in 0..good.len() {
        s.write(MASTER_KEY_FILE, &good[..len]);
        assert!(env.unlock_with_auto().is_err(), "truncated to {len}");
    }
    let mut long = good.clone();
    long.push(0);
    s.write(MASTER_KEY_FILE, &long);
    assert!(env.unlock_with_auto().is_err());
}

#[test]
fn an_unknown_slot_type_is_an_error_naming_the_type_and_the_file() {
    let s = Scratch::new("unknown");
    create(&s);
    let text = String::from_utf8(s.read(SLOTS_FILE)).unwrap();
    let text = text.replace("[{", "[{\"type\":\"yubikey-otp\"},{");
    s.write(SLOTS_FILE, text.as_bytes());
    let err = Envelope::open(&s.0).unwrap_err();
    assert_eq!(
        err,
        EnvelopeError::UnknownSlotType {
            path: s.file(SLOTS_FILE),
            slot: 0,
            slot_type: "yubikey-otp".into()
        }
    );
    let msg = err.to_string();
    assert!(
        msg.contains("yubikey-otp") && msg.contains(SLOTS_FILE),
        "{msg}"
    );
}

#[test]
fn a_newer_slot_table_version_is_refused_by_name() {
    let s = Scratch::new("version");
    create(&s);
    let text = String::from_utf8(s.read(SLOTS_FILE)).unwrap();
    s.write(
        SLOTS_FILE,
        text.replace("\"version\":1", "\"version\":2").as_bytes(),
    );
    let err = Envelope::open(&s.0).unwrap_err();
    assert!(
        matches!(&err, EnvelopeError::State(e) if e.kind
            == StateErrorKind::UnsupportedSchema { found: 2, expected: 1 }),
        "{err:?}"
    );
}

#[test]
fn a_fido2_slot_is_kept_but_refuses_to_unlock() {
    let s = Scratch::new("fido2");
    let env = create(&s);
    assert!(matches!(
        env.unlock_with_fido2(),
        Err(EnvelopeError::NoSlot {
            method: "fido2",
            ..
        })
    ));
    let fido = format!(
        "{{\"type\":\"fido2\",\"credential_id\":\"{}\",\"rp_id\":\"koi\",\
         \"hmac_secret_salt\":\"{}\",\"wrapped_master_key\":{{\"ciphertext\":\"{}\",\"nonce\":\"{}\"}}}}",
        b64_encode(b"credential"),
        b64_encode(&[7; 32]),
        b64_encode(&[1; 48]),
        b64_encode(&[2; 12]),
    );
    let text = String::from_utf8(s.read(SLOTS_FILE)).unwrap();
    s.write(
        SLOTS_FILE,
        text.replace("}]", &format!("}},{fido}]")).as_bytes(),
    );
    let mut env = Envelope::open(&s.0).unwrap();
    assert_eq!(env.available_methods(), ["passphrase", "fido2"]);
    let err = env.unlock_with_fido2().unwrap_err();
    assert_eq!(err, EnvelopeError::Fido2Unavailable);
    assert_eq!(
        err.to_string(),
        "FIDO2 unlock is not available in this build"
    );
    // Rewriting the table for another change keeps the FIDO2 slot as it was.
    let before = env.slots.slots[1].clone();
    let master = env
        .unwrap_master_with_passphrase(&pass(PASSPHRASE))
        .unwrap();
    env.add_auto_unlock(&master).unwrap();
    let env = Envelope::open(&s.0).unwrap();
    assert_eq!(env.slots.slots[1], before);
    assert_eq!(
        env.available_methods(),
        ["passphrase", "auto_unlock", "fido2"]
    );
}

#[test]
fn auto_unlock_can_be_added_used_and_removed() {
    let s = Scratch::new("auto");
    let mut env = create(&s);
    assert!(matches!(
        env.unlock_with_auto(),
        Err(EnvelopeError::NoSlot {
            method: "auto_unlock",
            ..
        })
    ));
    let master = env
        .unwrap_master_with_passphrase(&pass(PASSPHRASE))
        .unwrap();
    env.add_auto_unlock(&master).unwrap();
    env.add_auto_unlock(&master).unwrap(); // idempotent: one marker
    assert_eq!(env.available_methods(), ["passphrase", "auto_unlock"]);

    let reopened = Envelope::open(&s.0).unwrap();
    assert_eq!(reopened.available_methods(), ["passphrase", "auto_unlock"]);
    assert_eq!(reopened.unlock_with_auto().unwrap().expose(), &ca_der()[..]);
    assert_eq!(reopened.unwrap_master_with_auto().unwrap(), master);

    env.remove_auto_unlock().unwrap();
    assert!(!s.file(MASTER_KEY_FILE).exists(), "key file left behind");
    assert_eq!(env.available_methods(), ["passphrase"]);
    let reopened = Envelope::open(&s.0).unwrap();
    assert_eq!(reopened.available_methods(), ["passphrase"]);
    assert!(matches!(
        reopened.unlock_with_auto(),
        Err(EnvelopeError::NoSlot { .. })
    ));
    env.remove_auto_unlock().unwrap(); // idempotent
    assert!(env.unlock_with_passphrase(&pass(PASSPHRASE)).is_ok());
}

#[test]
fn a_missing_auto_unlock_key_file_is_an_error_naming_it() {
    let s = Scratch::new("auto-missing");
    let env = create_full(&s);
    std::fs::remove_file(s.file(MASTER_KEY_FILE)).unwrap();
    let err = env.unlock_with_auto().unwrap_err();
    assert!(matches!(&err, EnvelopeError::State(e) if e.is_not_found()));
    assert!(err.to_string().contains(MASTER_KEY_FILE));
}

#[test]
fn the_totp_slot_unlocks_with_the_secret_and_with_a_code_once() {
    let s = Scratch::new("totp");
    let mut env = create(&s);
    let secret = Secret::new(TOTP_SECRET.to_vec());
    assert!(matches!(
        env.unlock_with_totp_secret(&secret),
        Err(EnvelopeError::NoSlot { method: "totp", .. })
    ));
    let master = env
        .unwrap_master_with_passphrase(&pass(PASSPHRASE))
        .unwrap();
    assert!(env
        .add_totp_slot(&master, &Secret::new(vec![1; 15]), &mut OsRandom)
        .is_err());
    env.add_totp_slot(&master, &secret, &mut OsRandom).unwrap();
    let env = Envelope::open(&s.0).unwrap();
    assert_eq!(env.available_methods(), ["passphrase", "totp"]);
    assert_eq!(
        env.unlock_with_totp_secret(&secret).unwrap().expose(),
        &ca_der()[..]
    );
    assert_eq!(env.unwrap_master_with_totp_secret(&secret).unwrap(), master);
    assert!(matches!(
        env.unlock_with_totp_secret(&Secret::new(vec![9; 20])),
        Err(EnvelopeError::WrongTotpSecret { .. })
    ));

    let now = 1_700_000_000;
    let code = format_code(hotp(&RingHmacSha1, TOTP_SECRET, step(now)));
    let (der, used) = env.unlock_with_totp_code(&code, now, None).unwrap();
    assert_eq!(der.expose(), &ca_der()[..]);
    assert_eq!(used, step(now));
    assert_eq!(
        env.unlock_with_totp_code(&code, now, Some(used))
            .unwrap_err(),
        EnvelopeError::Totp(TotpError::Replayed)
    );
    let wrong = format_code((hotp(&RingHmacSha1, TOTP_SECRET, step(now)) + 1) % 1_000_000);
    assert_eq!(
        env.unlock_with_totp_code(&wrong, now, None).unwrap_err(),
        EnvelopeError::Totp(TotpError::Wrong)
    );
    assert_eq!(
        env.unlock_with_totp_code("12a456", now, None).unwrap_err(),
        EnvelopeError::Totp(TotpError::Malformed)
    );
}

#[test]
fn adding_a_totp_slot_replaces_the_old_one_and_it_can_be_removed() {
    let s = Scratch::new("totp-replace");
    let mut env = create_full(&s);
    let master = env.unwrap_master_with_auto().unwrap();
    let new_secret = Secret::new(vec![0x42; 32]);
    env.add_totp_slot(&master, &new_secret, &mut OsRandom)
        .unwrap();
    let env2 = Envelope::open(&s.0).unwrap();
    assert_eq!(
        env2.available_methods(),
        ["passphrase", "auto_unlock", "totp"]
    );
    assert!(env2.unlock_with_totp_secret(&new_secret).is_ok());
    assert!(env2
        .unlock_with_totp_secret(&Secret::new(TOTP_SECRET.to_vec()))
        .is_err());
    env.remove_totp_slot().unwrap();
    let env3 = Envelope::open(&s.0).unwrap();
    assert_eq!(env3.available_methods(), ["passphrase", "auto_unlock"]);
}

#[test]
fn a_master_key_that_does_not_decrypt_the_ca_key_is_refused() {
    let s = Scratch::new("wrong-master");
    let mut env = create(&s);
    let before = s.read(SLOTS_FILE);
    for bad in [
        Secret::new(vec![0; 32]),
        Secret::new(vec![0; 31]),
        Secret::new(Vec::new()),
    ] {
        assert_eq!(
            env.add_auto_unlock(&bad),
            Err(EnvelopeError::WrongMasterKey)
        );
        assert_eq!(
            env.add_totp_slot(&bad, &Secret::new(TOTP_SECRET.to_vec()), &mut OsRandom),
            Err(EnvelopeError::WrongMasterKey)
        );
        assert_eq!(env.decrypt_ca_key(&bad), Err(EnvelopeError::WrongMasterKey));
    }
    assert!(!s.file(MASTER_KEY_FILE).exists());
    assert_eq!(s.read(SLOTS_FILE), before);
}

#[test]
fn a_slot_uses_its_stored_parameters_not_the_current_defaults() {
    let s = Scratch::new("params");
    let odd = KdfParams {
        m_cost_kib: 72,
        t_cost: 2,
        p_cost: 2,
    };
    Envelope::create(&s.0, &ca_der(), &pass(PASSPHRASE), odd, &mut OsRandom).unwrap();
    let env = Envelope::open(&s.0).unwrap();
    assert_eq!(env.passphrase_params(), Some(odd));
    assert_ne!(KdfParams::recommended(), odd);
    assert!(env.unlock_with_passphrase(&pass(PASSPHRASE)).is_ok());
    // Editing the stored parameters changes the KEK, so they are what unlocking uses.
    let text = String::from_utf8(s.read(SLOTS_FILE)).unwrap();
    s.write(
        SLOTS_FILE,
        text.replace("\"t_cost\":2", "\"t_cost\":1").as_bytes(),
    );
    let env = Envelope::open(&s.0).unwrap();
    assert_eq!(env.passphrase_params().map(|p| p.t_cost), Some(1));
    assert!(matches!(
        env.unlock_with_passphrase(&pass(PASSPHRASE)),
        Err(EnvelopeError::WrongPassphrase { .. })
    ));
}

#[test]
fn out_of_bounds_stored_parameters_are_refused_before_any_work() {
    let s = Scratch::new("params-bounds");
    create(&s);
    let text = String::from_utf8(s.read(SLOTS_FILE)).unwrap();
    s.write(
        SLOTS_FILE,
        text.replace("\"m_cost_kib\":64", "\"m_cost_kib\":4294967295")
            .as_bytes(),
    );
    assert!(matches!(
        Envelope::open(&s.0),
        Err(EnvelopeError::BadSlot { slot: 0, .. })
    ));
}

#[test]
fn the_real_default_parameters_work() {
    let s = Scratch::new("defaults");
    let params = KdfParams::DEFAULT;
    assert_eq!(
        (params.m_cost_kib, params.t_cost, params.p_cost),
        (64 * 1024, 3, 1)
    );
    Envelope::create(&s.0, &ca_der(), &pass(PASSPHRASE), params, &mut OsRandom).unwrap();
    let env = Envelope::open(&s.0).unwrap();
    assert_eq!(env.passphrase_params(), Some(params));
    assert_eq!(
        env.unlock_with_passphrase(&pass(PASSPHRASE))
            .unwrap()
            .expose(),
        &ca_der()[..]
    );
}

#[test]
fn create_never_overwrites_an_existing_envelope() {
    let s = Scratch::new("exists");
    create(&s);
    let before = s.read(CA_KEY_FILE);
    let err = Envelope::create(&s.0, b"other", &pass("other"), SMALL, &mut OsRandom).unwrap_err();
    assert_eq!(err, EnvelopeError::AlreadyExists(s.file(CA_KEY_FILE)));
    assert_eq!(s.read(CA_KEY_FILE), before);
    assert!(matches!(
        Envelope::create(
            &Scratch::new("empty").0,
            b"k",
            &pass(""),
            SMALL,
            &mut OsRandom
        ),
        Err(EnvelopeError::InvalidInput(_))
    ));
}

#[test]
fn a_failing_random_source_writes_nothing() {
    struct Broken;
    impl RandomSource for Broken {
        fn fill(&mut self, _: &mut [u8]) -> std::io::Result<()> {
            Err(std::io::ErrorKind::Other.into())
        }
    }
    let s = Scratch::new("broken-rng");
    let err = Envelope::create(&s.0, &ca_der(), &pass(PASSPHRASE), SMALL, &mut Broken).unwrap_err();
    assert_eq!(err, EnvelopeError::Random(std::io::ErrorKind::Other));
    assert!(!s.file(CA_KEY_FILE).exists() && !s.file(SLOTS_FILE).exists());
}

#[test]
fn nonces_and_salts_are_fresh_for_every_seal() {
    let s = Scratch::new("nonces");
    let env = create_full(&s);
    let t = index_of(&env, "totp");
    let ca_nonce = s.read(CA_KEY_FILE)[8..20].to_vec();
    let nonces = [
        ca_nonce,
        wrapped_field(&s, 0, "nonce"),
        wrapped_field(&s, t, "nonce"),
    ];
    assert!(nonces[0] != nonces[1] && nonces[1] != nonces[2] && nonces[0] != nonces[2]);
    let s2 = Scratch::new("nonces2");
    create(&s2);
    assert_ne!(wrapped_field(&s, 0, "salt"), wrapped_field(&s2, 0, "salt"));
    assert_ne!(
        wrapped_field(&s, 0, "nonce"),
        wrapped_field(&s2, 0, "nonce")
    );
}

#[test]
fn errors_and_debug_output_never_contain_secrets() {
    let s = Scratch::new("no-leaks");
    let env = create_full(&s);
    let master = env.unwrap_master_with_auto().unwrap();
    let errors = [
        env.unlock_with_passphrase(&pass("wrong passphrase"))
            .unwrap_err(),
        env.unlock_with_totp_secret(&Secret::new(vec![3; 20]))
            .unwrap_err(),
        env.unlock_with_totp_code("000000", 0, None).unwrap_err(),
        env.unlock_with_fido2().unwrap_err(),
    ];
    let forbidden = [
        PASSPHRASE.to_string(),
        "wrong passphrase".to_string(),
        hex(master.expose()),
        hex(TOTP_SECRET),
        hex(&ca_der()[..16]),
        format!("{:?}", &master.expose()[..8]),
        format!("{:?}", &TOTP_SECRET[..8]),
    ];
    let mut texts: Vec<String> = errors
        .iter()
        .flat_map(|e| [e.to_string(), format!("{e:?}")])
        .collect();
    texts.push(format!("{env:?}"));
    texts.push(format!("{master:?}"));
    for text in &texts {
        for secret in &forbidden {
            assert!(!text.contains(secret.as_str()), "{text}");
        }
    }
}

#[test]
fn an_envelope_sealed_by_the_earlier_aes_gcm_crate_still_opens() {
    // testdata/: a team CA made by koi when the envelope used the aes-gcm crate (passphrase
    // "correct horse battery staple"); the envelope now seals with ring. AES-256-GCM is one
    // algorithm: a CA made before the switch must unlock after it, and its key must be the
    // key of its certificate.
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/certmesh/envelope/testdata");
    let env = Envelope::open(&dir).unwrap();
    let payload = env
        .unlock_with_passphrase(&pass("correct horse battery staple"))
        .unwrap();
    let (pkcs8, totp) = crate::certmesh::payload::unpack(&payload).unwrap();
    assert!(!totp.expose().is_empty());
    let pem = std::fs::read_to_string(dir.join("ca-cert.pem")).unwrap();
    let der = crate::certmesh::ca::pem_decode(&pem, "CERTIFICATE").unwrap();
    assert!(crate::certmesh::ca::Ca::load(&der, &pkcs8).is_ok());
    assert!(env.unlock_with_passphrase(&pass("correct horse")).is_err());
}
