//! Settings read from variables: secrets, ranges, networks.

use super::*;

fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn prod_refuses_a_missing_or_short_secret() {
    let base = [("EHOME_ENV", "prod"), ("WECHAT_APPID", "wx1"), ("WECHAT_SECRET", "s")];
    assert!(matches!(Settings::from_vars(&vars(&base)), Err(ConfigError::WeakJwtSecret { .. })));
    for weak in ["short", &"a".repeat(64), &"abc".repeat(20), "0123456789abcdef0123456789abcdef"] {
        let mut with = base.to_vec();
        with.push(("JWT_SECRET", weak));
        assert!(matches!(Settings::from_vars(&vars(&with)), Err(ConfigError::WeakJwtSecret { .. })), "{weak}");
    }
    let mut strong = base.to_vec();
    strong.push(("JWT_SECRET", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"));
    let settings = Settings::from_vars(&vars(&strong)).unwrap();
    assert!(!settings.seed_demo);
}

#[test]
fn ranges_are_checked() {
    let err = Settings::from_vars(&vars(&[("JWT_SECRET", "x"), ("DATABASE_MAX_CONNECTIONS", "0")]));
    assert!(matches!(err, Err(ConfigError::Invalid { name: "DATABASE_MAX_CONNECTIONS", .. })));
}

#[test]
fn cidrs_contain_their_addresses() {
    let net = IpCidr::parse("10.1.0.0/16").unwrap();
    assert!(net.contains("10.1.200.3".parse().unwrap()));
    assert!(!net.contains("10.2.0.1".parse().unwrap()));
    assert!(IpCidr::parse("127.0.0.1").unwrap().contains("::ffff:127.0.0.1".parse().unwrap()));
    assert!(IpCidr::parse("0.0.0.0/0").unwrap().contains("8.8.8.8".parse().unwrap()));
    assert!(IpCidr::parse("fd00::/8").unwrap().contains("fd12::1".parse().unwrap()));
    assert!(IpCidr::parse("10.0.0.0/33").is_err());
    assert!(IpCidr::parse("ten").is_err());
}

#[test]
fn secrets_do_not_print() {
    let settings =
        Settings::from_vars(&vars(&[("JWT_SECRET", "topsecretvalue"), ("WECHAT_SECRET", "wxsecret")])).unwrap();
    let printed = format!("{settings:?}");
    assert!(!printed.contains("topsecretvalue"));
    assert!(!printed.contains("wxsecret"));
}

#[test]
fn points_expire_after_36_months_unless_configured() {
    let settings = Settings::from_vars(&vars(&[("JWT_SECRET", "x")])).unwrap();
    assert_eq!(settings.points.expiry_months, 36);
    let configured = Settings::from_vars(&vars(&[("JWT_SECRET", "x"), ("POINTS_EXPIRY_MONTHS", "12")])).unwrap();
    assert_eq!(configured.points.expiry_months, 12);
    let err = Settings::from_vars(&vars(&[("JWT_SECRET", "x"), ("POINTS_EXPIRY_MONTHS", "0")]));
    assert!(matches!(err, Err(ConfigError::Invalid { name: "POINTS_EXPIRY_MONTHS", .. })));
}
