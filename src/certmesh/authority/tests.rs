//! Enrollment policy tests with a controlled clock.

use super::*;
use crate::base::OsRandom;
use crate::certmesh::create::{create, CreateOptions, Created};
use crate::certmesh::envelope::KdfParams;
use crate::certmesh::profile::Profile;
use crate::state::StateDir;
use koi_wire::totp;

const T0: u64 = 1_800_000_010;

struct Bed {
    root: std::path::PathBuf,
    paths: MeshPaths,
    created: Created,
}

impl Drop for Bed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn bed(tag: &str, profile: Profile, subnet: Option<&str>) -> (Bed, Authority) {
    let root = std::env::temp_dir().join(format!("koi-auth-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let paths = MeshPaths::new(&StateDir::new(root.clone()));
    let o = CreateOptions {
        profile,
        operator: Some("Maria Santos".into()),
        domain: None,
        subnet: subnet.map(|s| Cidr::parse(s).unwrap()),
        permit_domains: vec![],
        zone: "lan".into(),
        passphrase: Secret::new(b"correct horse".to_vec()),
        extra_entropy: Secret::new(Vec::new()),
        hostname: "ca-host".into(),
        ips: vec!["192.168.1.10".parse().unwrap()],
        approval_required: profile.approval_required(),
        auto_unlock: profile.auto_unlock_by_default(),
        kdf: KdfParams {
            m_cost_kib: 1024,
            t_cost: 1,
            p_cost: 1,
        },
    };
    let created = create(&paths, &o, T0, &mut OsRandom).unwrap();
    let mut a = Authority::open(&paths).unwrap();
    a.unlock_with_passphrase(&Secret::new(b"correct horse".to_vec()))
        .unwrap();
    (
        Bed {
            root,
            paths,
            created,
        },
        a,
    )
}

fn code(b: &Bed, now: u64) -> String {
    totp::format_code(totp::totp(
        &RingHmacSha1,
        b.created.totp_secret.expose(),
        now,
    ))
}

fn request(host: &str, ip: &str, code: String) -> JoinRequest {
    let (_, csr) = crate::certmesh::ca::member_key_and_csr(host).unwrap();
    JoinRequest {
        hostname: host.into(),
        fqdn: None,
        ips: vec![ip.parse().unwrap()],
        csr,
        code,
        cert_path: format!("/x/certs/{host}"),
    }
}

fn events(a: &Authority) -> Vec<String> {
    a.audit()
        .entries()
        .unwrap()
        .into_iter()
        .map(|e| format!("{} {}", e.event, e.detail))
        .collect()
}

#[test]
fn personal_join_issues_once_per_code() {
    let (b, mut a) = bed("once", Profile::Personal, None);
    let c = code(&b, T0 + 100);
    let j = a.join(
        request("pc1", "192.168.1.20", c.clone()),
        T0 + 100,
        &mut OsRandom,
    );
    let Ok(Joined::Issued(iss)) = j else {
        panic!("{j:?}")
    };
    assert_eq!(iss.sans, ["pc1.lan", "pc1.local", "192.168.1.20"]);
    assert!(a.roster().member("pc1").is_some());
    let again = a.join(request("pc2", "192.168.1.21", c), T0 + 101, &mut OsRandom);
    assert!(matches!(again, Err(Refused::BadCode(_))), "{again:?}");
    assert!(Roster::load(&b.paths.roster(), a.ca_der()).is_ok());
    // A restarted CA still knows the code was used.
    let mut restarted = Authority::open(&b.paths).unwrap();
    restarted.unlock_auto().unwrap();
    let c2 = code(&b, T0 + 100);
    let r = restarted.join(request("pc3", "192.168.1.22", c2), T0 + 102, &mut OsRandom);
    assert!(matches!(r, Err(Refused::BadCode(_))), "{r:?}");
    assert_eq!(
        a.audit().verify(a.ca_der()).unwrap() as usize,
        events(&a).len()
    );
}

#[test]
fn three_wrong_codes_lock_out_even_a_right_code_and_lockouts_double() {
    let (b, mut a) = bed("lockout", Profile::Personal, None);
    let now = T0 + 1000;
    let right = code(&b, now);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for i in 0..3 {
        let r = a.join(
            request("x", "10.0.0.2", wrong.into()),
            now + i,
            &mut OsRandom,
        );
        assert!(matches!(r, Err(Refused::BadCode(_))), "{r:?}");
    }
    let r = a.join(request("x", "10.0.0.2", right), now + 5, &mut OsRandom);
    assert_eq!(r, Err(Refused::LockedOut(now + 2 + LOCKOUT_SECS)));
    assert!(events(&a).iter().any(|e| e.starts_with("lockout")));
    // After the lockout a fresh right code works.
    let later = now + 2 + LOCKOUT_SECS + 1;
    let r = a.join(
        request("x", "10.0.0.2", code(&b, later)),
        later,
        &mut OsRandom,
    );
    assert!(matches!(r, Ok(Joined::Issued(_))), "{r:?}");
    // A second lockout lasts twice as long.
    let t = later + 100;
    for i in 0..3 {
        let _ = a.join(request("y", "10.0.0.3", wrong.into()), t + i, &mut OsRandom);
    }
    let r = a.join(
        request("y", "10.0.0.3", code(&b, t + 3)),
        t + 3,
        &mut OsRandom,
    );
    assert_eq!(r, Err(Refused::LockedOut(t + 2 + 2 * LOCKOUT_SECS)));
}

#[test]
fn window_closed_refuses_open_with_duration_accepts_then_closes_by_itself() {
    let (b, mut a) = bed("window", Profile::Personal, None);
    a.close_enrollment(T0 + 10).unwrap();
    let r = a.join(
        request("w", "10.0.0.4", code(&b, T0 + 20)),
        T0 + 20,
        &mut OsRandom,
    );
    assert_eq!(r, Err(Refused::Closed));
    assert!(Refused::Closed.to_string().contains("enrollment closed"));
    let until = a.open_enrollment(T0 + 60, Some(120)).unwrap();
    assert_eq!(until, Some(T0 + 180));
    let r = a.join(
        request("w", "10.0.0.4", code(&b, T0 + 90)),
        T0 + 90,
        &mut OsRandom,
    );
    assert!(matches!(r, Ok(Joined::Issued(_))), "{r:?}");
    let r = a.join(
        request("v", "10.0.0.5", code(&b, T0 + 200)),
        T0 + 200,
        &mut OsRandom,
    );
    assert_eq!(r, Err(Refused::Closed));
    let disk = Roster::load(&b.paths.roster(), a.ca_der()).unwrap();
    assert_eq!(
        disk.metadata.enrollment_state, "closed",
        "the deadline close is persisted"
    );
    assert!(events(&a)
        .iter()
        .any(|e| e == "window_closed deadline reached"));
}

#[test]
fn out_of_scope_requests_are_refused_and_logged() {
    let (b, mut a) = bed("scope", Profile::Personal, Some("192.168.1.0/24"));
    let r = a.join(
        request("far", "192.168.9.9", code(&b, T0 + 40)),
        T0 + 40,
        &mut OsRandom,
    );
    assert!(matches!(r, Err(Refused::Scope(_))), "{r:?}");
    assert!(events(&a)
        .iter()
        .any(|e| e.starts_with("enroll_refused far") && e.contains("scope")));
    let mut req = request("bad", "192.168.1.9", code(&b, T0 + 100));
    req.fqdn = Some("bad.example.com".into());
    let r = a.join(req, T0 + 100, &mut OsRandom);
    assert!(matches!(r, Err(Refused::Scope(_))), "{r:?}");
}

#[test]
fn team_joins_wait_for_approval_and_deny_fails_them() {
    let (b, mut a) = bed("team", Profile::Team, None);
    let r = a.join(
        request("t1", "10.0.0.6", code(&b, T0 + 40)),
        T0 + 40,
        &mut OsRandom,
    );
    let Ok(Joined::Waiting(id)) = r else {
        panic!("{r:?}")
    };
    assert_eq!(a.poll(&id), Some(PendingState::Waiting));
    assert!(a.roster().member("t1").is_none());
    let iss = a.approve("t1", T0 + 50, &mut OsRandom).unwrap();
    assert_eq!(a.poll(&id), Some(PendingState::Issued(iss)));
    assert!(a.roster().member("t1").is_some());
    let r = a.join(
        request("t2", "10.0.0.7", code(&b, T0 + 100)),
        T0 + 100,
        &mut OsRandom,
    );
    let Ok(Joined::Waiting(id2)) = r else {
        panic!("{r:?}")
    };
    a.deny(&id2, T0 + 110).unwrap();
    assert_eq!(a.poll(&id2), Some(PendingState::Refused(Refused::Denied)));
    assert!(Refused::Denied.to_string().contains("denied"));
    assert!(a.approve(&id2, T0 + 111, &mut OsRandom).is_err());
    assert!(a.poll("nope").is_none());
}

#[test]
fn revoked_hosts_never_enroll_and_rotation_invalidates_the_old_secret() {
    let (b, mut a) = bed("revoke", Profile::Personal, None);
    a.revoke("gone", Some("decommissioned".into()), T0 + 1)
        .unwrap();
    let r = a.join(
        request("gone", "10.0.0.8", code(&b, T0 + 40)),
        T0 + 40,
        &mut OsRandom,
    );
    assert_eq!(r, Err(Refused::Revoked("gone".into())));
    let new = a.rotate_secret(T0 + 50, &mut OsRandom).unwrap();
    let old = code(&b, T0 + 100);
    let r = a.join(request("n", "10.0.0.9", old), T0 + 100, &mut OsRandom);
    assert!(matches!(r, Err(Refused::BadCode(_))));
    let fresh = totp::format_code(totp::totp(&RingHmacSha1, new.expose(), T0 + 130));
    let r = a.join(request("n", "10.0.0.9", fresh), T0 + 130, &mut OsRandom);
    assert!(matches!(r, Ok(Joined::Issued(_))), "{r:?}");
    // A fresh process unlocks with the passphrase and sees the rotated secret.
    let mut again = Authority::open(&b.paths).unwrap();
    assert!(!again.is_unlocked());
    let r = again.join(
        request("m", "10.0.0.10", "123456".into()),
        T0 + 160,
        &mut OsRandom,
    );
    assert_eq!(r, Err(Refused::Locked));
    assert!(Refused::Locked.to_string().contains("locked"));
    assert!(again
        .unlock_with_passphrase(&Secret::new(b"wrong".to_vec()))
        .is_err());
    again.unlock_auto().unwrap();
    let fresh = totp::format_code(totp::totp(&RingHmacSha1, new.expose(), T0 + 190));
    let r = again.join(request("m", "10.0.0.10", fresh), T0 + 190, &mut OsRandom);
    assert!(matches!(r, Ok(Joined::Issued(_))), "{r:?}");
}
