//! Avatar and photo URLs that other residents' phones will load: https on a host of the configured
//! media allow-list (`EHOME_MEDIA_HOSTS`), nothing else. A URL that names an internal address, carries
//! credentials, picks a port or smuggles quotes into an `<image src>` is refused before it is stored.

use crate::platform::error::ApiError;

pub const MEDIA_URL_CHARS_MAX: usize = 512;

/// WeChat's user media: avatars (`thirdwx.qlogo.cn`, `wx.qlogo.cn`), official-account and mini-program
/// images (`mmbiz.qpic.cn`, `mmbiz.qlogo.cn`), and the cloud-development storage a mini-program uploads
/// photos to (`<env>-<appid>.tcb.qcloud.la`).
pub const DEFAULT_MEDIA_HOSTS: &str = "thirdwx.qlogo.cn,wx.qlogo.cn,mmbiz.qpic.cn,mmbiz.qlogo.cn,*.tcb.qcloud.la";

/// Characters that are never part of a URL we accept, even percent-encoded forms aside: they break
/// out of HTML attributes or are invalid unencoded (RFC 3986 "unwise").
const FORBIDDEN_CHARS: &[char] = &['"', '\'', '<', '>', '\\', '^', '`', '{', '|', '}'];

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    /// The host itself.
    Exact(String),
    /// `*.suffix`: exactly one more label in front of the suffix.
    OneLabelUnder(String),
}

/// The hosts media URLs may point to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaHosts(Vec<HostPattern>);

fn is_domain(text: &str) -> bool {
    let labels: Vec<&str> = text.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

impl MediaHosts {
    /// A comma-separated list of hosts (`wx.qlogo.cn`) and one-label wildcards (`*.tcb.qcloud.la`).
    pub fn parse(list: &str) -> Result<MediaHosts, String> {
        let mut patterns = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|entry| !entry.is_empty()) {
            let entry = entry.to_ascii_lowercase();
            let pattern = match entry.strip_prefix("*.") {
                Some(suffix) if is_domain(suffix) => HostPattern::OneLabelUnder(suffix.to_owned()),
                None if is_domain(&entry) => HostPattern::Exact(entry),
                _ => return Err(format!("{entry:?} is not a host name or a *.host pattern")),
            };
            patterns.push(pattern);
        }
        if patterns.is_empty() {
            return Err("name at least one host".to_owned());
        }
        Ok(MediaHosts(patterns))
    }

    fn allows(&self, host: &str) -> bool {
        self.0.iter().any(|pattern| match pattern {
            HostPattern::Exact(exact) => host == exact,
            HostPattern::OneLabelUnder(suffix) => host
                .strip_suffix(suffix.as_str())
                .and_then(|rest| rest.strip_suffix('.'))
                .is_some_and(|label| !label.is_empty() && !label.contains('.')),
        })
    }
}

/// An https URL on an allowed media host, in its normalised form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaUrl(String);

impl MediaUrl {
    /// Checks `raw` for `field`; the error names the field and says what is accepted.
    pub fn parse(field: &str, raw: &str, hosts: &MediaHosts) -> Result<MediaUrl, ApiError> {
        let refuse = |why: &str| ApiError::validation(field, format!("{why}; expected an https URL on a media host"));
        if raw.is_empty() || raw.chars().count() > MEDIA_URL_CHARS_MAX {
            return Err(refuse(&format!("1 to {MEDIA_URL_CHARS_MAX} characters")));
        }
        if !raw.is_ascii() || raw.chars().any(|c| c.is_ascii_control() || c == ' ' || FORBIDDEN_CHARS.contains(&c)) {
            return Err(refuse("spaces, quotes, control and non-ASCII characters are not allowed"));
        }
        if !raw.starts_with("https://") {
            return Err(refuse("only https:// URLs"));
        }
        let url = reqwest::Url::parse(raw).map_err(|_| refuse("not a valid URL"))?;
        if url.scheme() != "https" {
            return Err(refuse("only https:// URLs"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("user names and passwords are not allowed"));
        }
        if url.port().is_some() {
            return Err(refuse("only the default https port"));
        }
        let host = url.host_str().unwrap_or_default();
        if host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok() {
            return Err(refuse("IP addresses are not allowed"));
        }
        if !hosts.allows(host) {
            return Err(refuse(&format!("{host} is not a media host")));
        }
        Ok(MediaUrl(url.into()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts() -> MediaHosts {
        MediaHosts::parse(DEFAULT_MEDIA_HOSTS).unwrap()
    }

    #[test]
    fn media_hosts_accept_wechat_media() {
        for ok in [
            "https://thirdwx.qlogo.cn/mmopen/vi_32/abc/132",
            "https://mmbiz.qpic.cn/mmbiz_jpg/x/0?wx_fmt=jpeg",
            "https://7465-env-1a2b-1300000000.tcb.qcloud.la/photos/1.jpg?sign=ab&t=1",
            "https://wx.qlogo.cn:443/a.png",
        ] {
            assert!(MediaUrl::parse("photos", ok, &hosts()).is_ok(), "{ok}");
        }
    }

    #[test]
    fn media_urls_refuse_what_is_not_plain_media() {
        for bad in [
            "http://thirdwx.qlogo.cn/a.png",
            "https://127.0.0.1:6379/internal",
            "https://[::1]/a.png",
            "https://2130706433/a.png",
            "https://thirdwx.qlogo.cn:8443/a.png",
            "https://user:pw@thirdwx.qlogo.cn/a.png",
            "https://thirdwx.qlogo.cn/a.png\"onerror=\"x",
            "https://thirdwx.qlogo.cn/a b.png",
            "https://thirdwx.qlogo.cn/a\n.png",
            "https://tracker.example.com/pixel.gif",
            "https://thirdwx.qlogo.cn.evil.com/a.png",
            "https://a.b.tcb.qcloud.la/a.png",
            "https://tcb.qcloud.la/a.png",
            " https://thirdwx.qlogo.cn/a.png",
            "",
        ] {
            assert!(MediaUrl::parse("photos", bad, &hosts()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn host_lists_are_checked() {
        assert!(MediaHosts::parse("*.example.com, cdn.example.org").is_ok());
        assert!(MediaHosts::parse("*").is_err());
        assert!(MediaHosts::parse("localhost").is_err());
        assert!(MediaHosts::parse(" , ").is_err());
        assert!(MediaHosts::parse("a_b.example.com").is_err());
    }
}
