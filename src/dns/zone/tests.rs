use super::*;
use std::net::Ipv4Addr;

fn n(s: &str) -> Name {
    Name::from_dotted(s).unwrap()
}

#[test]
fn higher_priority_source_owns_the_whole_name() {
    let mut zone = Zone::new(n("lan"));
    let mut mdns = Table::default();
    mdns.add(&n("grafana.lan"), Data::A(Ipv4Addr::new(10, 0, 0, 5)))
        .unwrap();
    mdns.add(&n("grafana.lan"), Data::Aaaa("fd00::5".parse().unwrap()))
        .unwrap();
    mdns.add(&n("nas.lan"), Data::A(Ipv4Addr::new(10, 0, 0, 6)))
        .unwrap();
    assert!(zone.replace(Source::Mdns, mdns).is_empty());
    zone.edit(Source::Static, |t| {
        t.add(&n("GRAFANA.lan"), Data::A(Ipv4Addr::new(192, 168, 1, 15)))
            .unwrap();
    });
    let (src, data) = zone.lookup(&n("grafana.LAN")).unwrap();
    assert_eq!(src, Source::Static);
    assert_eq!(data, &[Data::A(Ipv4Addr::new(192, 168, 1, 15))]);
    assert_eq!(zone.lookup(&n("nas.lan")).unwrap().0, Source::Mdns);
    assert_eq!(zone.name_count(), 2);
    // Re-feeding mDNS reports the hidden name.
    let mut again = Table::default();
    again
        .add(&n("grafana.lan"), Data::A(Ipv4Addr::new(10, 0, 0, 5)))
        .unwrap();
    assert_eq!(zone.replace(Source::Mdns, again), vec![n("grafana.lan")]);
}

#[test]
fn public_addresses_never_enter() {
    let mut t = Table::default();
    assert!(t
        .add(&n("x.lan"), Data::A(Ipv4Addr::new(8, 8, 8, 8)))
        .is_err());
    assert!(t.is_empty());
}

#[test]
fn reverse_follows_removal() {
    let mut t = Table::default();
    let ip = Ipv4Addr::new(10, 1, 1, 1);
    t.add(&n("a.lan"), Data::A(ip)).unwrap();
    t.add(&n("b.lan"), Data::A(ip)).unwrap();
    assert_eq!(t.reverse(ip.into()), Some(n("a.lan")));
    assert!(t.remove(&n("a.lan")));
    assert_eq!(t.reverse(ip.into()), Some(n("b.lan")));
    assert!(t.remove(&n("b.lan")));
    assert_eq!(t.reverse(ip.into()), None);
}

#[test]
fn empty_non_terminals_follow_adds_and_removals() {
    let mut zone = Zone::new(n("lan"));
    let ip = Ipv4Addr::new(10, 1, 1, 1);
    zone.edit(Source::Mdns, |t| {
        t.add(&n("a.b.lan"), Data::A(ip)).unwrap();
        t.add(&n("c.b.lan"), Data::A(ip)).unwrap();
    });
    assert_eq!(zone.has_below(&n("B.lan")), Some(Source::Mdns));
    assert_eq!(zone.has_below(&n("a.b.lan")), None, "a leaf");
    assert_eq!(zone.has_below(&n("x.lan")), None);
    zone.edit(Source::Mdns, |t| assert!(t.remove(&n("a.b.lan"))));
    assert_eq!(
        zone.has_below(&n("b.lan")),
        Some(Source::Mdns),
        "c.b.lan is left"
    );
    zone.edit(Source::Mdns, |t| assert!(t.remove(&n("c.b.lan"))));
    assert_eq!(zone.has_below(&n("b.lan")), None);
    // A name added twice counts once.
    zone.edit(Source::Static, |t| {
        t.add(&n("x.y.lan"), Data::A(ip)).unwrap();
        t.add(&n("x.y.lan"), Data::Aaaa("fd00::1".parse().unwrap()))
            .unwrap();
        assert!(t.remove(&n("x.y.lan")));
    });
    assert_eq!(zone.has_below(&n("y.lan")), None);
}
