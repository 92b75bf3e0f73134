//! Video source kinds and the per-type rules of their `type_config` (spec §2.1–§2.3).

use crate::type_config::{self, Generation, TypeConfig};
use crate::{ErrorCode, FieldError};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessType {
    Cloud,
    Edge,
}

impl AccessType {
    pub fn parse(param: &str, s: &str) -> Result<Self, FieldError> {
        match s {
            "cloud" => Ok(AccessType::Cloud),
            "edge" => Ok(AccessType::Edge),
            _ => Err(FieldError::invalid(param, "must be cloud or edge")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AccessType::Cloud => "cloud",
            AccessType::Edge => "edge",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceType {
    Url,
    Vcn,
    Restful,
    Camera,
    Obs,
    Ivm,
    VcnRestful,
}

impl SourceType {
    pub const ALL: [SourceType; 7] = [
        SourceType::Url,
        SourceType::Vcn,
        SourceType::Restful,
        SourceType::Camera,
        SourceType::Obs,
        SourceType::Ivm,
        SourceType::VcnRestful,
    ];

    pub fn parse(param: &str, s: &str) -> Result<Self, FieldError> {
        Self::ALL.into_iter().find(|t| t.as_str() == s).ok_or_else(|| {
            FieldError::invalid(param, "must be one of url, vcn, restful, camera, obs, ivm, vcn_restful")
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Url => "url",
            SourceType::Vcn => "vcn",
            SourceType::Restful => "restful",
            SourceType::Camera => "camera",
            SourceType::Obs => "obs",
            SourceType::Ivm => "ivm",
            SourceType::VcnRestful => "vcn_restful",
        }
    }

    /// Where a source of this type can be pulled from (spec §2.1 console rules): OBS and IVM are
    /// cloud services, IEF cameras live on edge nodes; the rest work from both.
    pub fn allows(self, access: AccessType) -> bool {
        match self {
            SourceType::Obs | SourceType::Ivm => access == AccessType::Cloud,
            SourceType::Camera => access == AccessType::Edge,
            _ => true,
        }
    }
}

/// The validated address of a source, as the media layer will open it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceAddress {
    Url {
        url: String,
        /// Vigil extension `<certificate_check>` (default true): verify an `rtsps://` camera's
        /// certificate; false accepts self-signed cameras.
        tls_verify: bool,
    },
    Vcn {
        data_source_id: String,
        stream_type: u8,
        ip: String,
        port: u16,
        user_name: String,
        password: Option<String>,
    },
    Restful {
        url: String,
        rtsp_path: String,
        http_check: bool,
    },
    Camera {
        device_id: String,
        name: Option<String>,
    },
    Obs {
        bucket: String,
        path: String,
    },
    Ivm {
        device_id: String,
        channel_id: String,
    },
}

impl SourceAddress {
    /// The stream address known without probing (direct URLs only).
    pub fn stream_path(&self) -> Option<&str> {
        match self {
            SourceAddress::Url { url, .. } => Some(url),
            _ => None,
        }
    }
}

fn req<'a>(cfg: &'a TypeConfig, key: &str) -> Result<&'a str, FieldError> {
    cfg.get(key)
        .ok_or_else(|| FieldError::invalid(format!("type_config.{key}"), "is required"))
}

fn has_scheme(url: &str, schemes: &[&str]) -> bool {
    let lower = url.to_ascii_lowercase();
    schemes
        .iter()
        .any(|s| lower.starts_with(&format!("{s}://")) && lower.len() > s.len() + 3)
}

fn check_url(key: &str, url: &str, schemes: &[&str]) -> Result<(), FieldError> {
    if url.len() > 1000 || url.chars().any(|c| c.is_whitespace() || c.is_control()) || !has_scheme(url, schemes) {
        return Err(FieldError::invalid(
            format!("type_config.{key}"),
            format!("must be a {} URL of at most 1000 characters", schemes.join("/")),
        ));
    }
    Ok(())
}

/// Schemes a tenant may give as a stream address (`url` sources and `url` task inputs).
pub const STREAM_URL_SCHEMES: &[&str] = &["rtsp", "rtsps", "rtmp", "http", "https", "file"];

/// The rule for a stream address a tenant configures. The media layer applies the same rule to
/// the addresses RESTful endpoints answer with, so an answer can never be more than a
/// configured address could be (`concat:`, `subfile,`, `gopher://`… are refused here).
pub fn check_stream_url(key: &str, url: &str) -> Result<(), FieldError> {
    check_url(key, url, STREAM_URL_SCHEMES)
}

fn parse_bool(key: &str, v: Option<&str>) -> Result<bool, FieldError> {
    match v.map(|s| s.to_ascii_lowercase()) {
        None => Ok(true),
        Some(s) if s == "true" || s == "1" => Ok(true),
        Some(s) if s == "false" || s == "0" => Ok(false),
        Some(_) => Err(FieldError::invalid(
            format!("type_config.{key}"),
            "must be true or false",
        )),
    }
}

fn vcn(cfg: &TypeConfig) -> Result<SourceAddress, FieldError> {
    let stream_type = match cfg.get("stream_type") {
        None => 1,
        Some(s) => match s.parse::<u8>() {
            Ok(v @ 1..=3) => v,
            _ => return Err(FieldError::invalid("type_config.stream_type", "must be 1, 2 or 3")),
        },
    };
    let port = req(cfg, "port")?
        .parse::<u16>()
        .map_err(|_| FieldError::invalid("type_config.port", "must be an integer 0 to 65535"))?;
    let ip = req(cfg, "ip")?;
    if ip.len() > 255 || ip.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(FieldError::invalid(
            "type_config.ip",
            "must be an IP address or host name",
        ));
    }
    Ok(SourceAddress::Vcn {
        data_source_id: req(cfg, "data_source_id")?.to_string(),
        stream_type,
        ip: ip.to_string(),
        port,
        user_name: req(cfg, "user_name")?.to_string(),
        password: cfg.get("password").map(str::to_string),
    })
}

fn restful(cfg: &TypeConfig) -> Result<SourceAddress, FieldError> {
    let url = req(cfg, "url")?;
    check_url("url", url, &["http", "https"])?;
    let rtsp_path = req(cfg, "rtsp_url")?;
    if rtsp_path.len() > 1024 || rtsp_path.split('/').any(str::is_empty) {
        return Err(FieldError::invalid(
            "type_config.rtsp_url",
            "must be a slash-separated JSON path such as data/url",
        ));
    }
    Ok(SourceAddress::Restful {
        url: url.to_string(),
        rtsp_path: rtsp_path.to_string(),
        http_check: parse_bool("http_check", cfg.get("http_check"))?,
    })
}

/// Validates `type_config` for a source of type `ty`.
pub fn parse_address(ty: SourceType, xml: &str) -> Result<SourceAddress, FieldError> {
    let cfg = type_config::parse(xml)?;
    if let Some(declared) = &cfg.declared_type {
        if !declared.eq_ignore_ascii_case(ty.as_str()) {
            return Err(FieldError::invalid(
                "type_config",
                format!("declares type {declared} but the source type is {}", ty.as_str()),
            ));
        }
    }
    match ty {
        SourceType::Url => {
            let url = req(&cfg, "url_address")?;
            check_stream_url("url_address", url)?;
            Ok(SourceAddress::Url {
                url: url.to_string(),
                tls_verify: parse_bool("certificate_check", cfg.get("certificate_check"))?,
            })
        }
        SourceType::Vcn => vcn(&cfg),
        SourceType::VcnRestful => {
            // The restful trio is optional here (spec gap): validate it when present.
            if cfg.get("url").is_some() {
                restful(&cfg)?;
            }
            vcn(&cfg)
        }
        SourceType::Restful => restful(&cfg),
        SourceType::Camera => {
            let key = if cfg.generation == Generation::One {
                "edge_camera_id"
            } else {
                "device_id"
            };
            let id = req(&cfg, key)?;
            if id.len() > 64 {
                return Err(FieldError::invalid(
                    format!("type_config.{key}"),
                    "must be at most 64 characters",
                ));
            }
            Ok(SourceAddress::Camera {
                device_id: id.to_string(),
                name: cfg.get("name").map(str::to_string),
            })
        }
        SourceType::Obs => {
            let bucket = req(&cfg, "bucket")?;
            let ok = (3..=63).contains(&bucket.len())
                && bucket
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
                && !bucket.starts_with(['-', '.'])
                && !bucket.ends_with(['-', '.']);
            if !ok {
                return Err(FieldError::invalid("type_config.bucket", "must be a valid bucket name"));
            }
            let path = req(&cfg, "path")?;
            if path.len() > 1023 || path.starts_with('/') || path.contains("..") {
                return Err(FieldError::invalid(
                    "type_config.path",
                    "must be a relative object path",
                ));
            }
            Ok(SourceAddress::Obs {
                bucket: bucket.to_string(),
                path: path.to_string(),
            })
        }
        SourceType::Ivm => Err(FieldError::with_code(
            ErrorCode::IvmNotEnabled,
            "type",
            "Vigil has no IVM (Industry Video Management) integration",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_type_rules() {
        let url = parse_address(
            SourceType::Url,
            "<type_config><url_address>rtsp://10.0.0.1/s</url_address></type_config>",
        );
        let url = url.unwrap();
        assert_eq!(url.stream_path(), Some("rtsp://10.0.0.1/s"));
        assert!(matches!(url, SourceAddress::Url { tls_verify: true, .. }));
        for (text, want) in [("false", false), ("0", false), ("TRUE", true), ("1", true)] {
            let xml = format!(
                "<type_config><url_address>rtsps://10.0.0.1/s</url_address><certificate_check>{text}</certificate_check></type_config>"
            );
            let got = parse_address(SourceType::Url, &xml).unwrap();
            assert!(
                matches!(got, SourceAddress::Url { tls_verify, .. } if tls_verify == want),
                "{text}"
            );
        }
        let e = parse_address(
            SourceType::Url,
            "<type_config><url_address>rtsps://10.0.0.1/s</url_address><certificate_check>maybe</certificate_check></type_config>",
        )
        .unwrap_err();
        assert_eq!(e.param, "type_config.certificate_check");
        let e = parse_address(
            SourceType::Url,
            "<type_config><url_address>ftp://x/y</url_address></type_config>",
        )
        .unwrap_err();
        assert_eq!(e.param, "type_config.url_address");
        let e = parse_address(SourceType::Url, "<type_config></type_config>").unwrap_err();
        assert_eq!(e.param, "type_config.url_address");
        let e = parse_address(
            SourceType::Url,
            "<type>VCN</type><config><URL_ADDRESS>rtsp://a/b</URL_ADDRESS></config>",
        )
        .unwrap_err();
        assert_eq!(e.param, "type_config");
        let v = parse_address(
            SourceType::Vcn,
            "<type>VCN</type><config><DATA_SOURCE_ID>1#a</DATA_SOURCE_ID><STREAM_TYPE>2</STREAM_TYPE><IP>10.1.1.1</IP><PORT>9000</PORT><USER_NAME>u</USER_NAME><PASSWORD>p</PASSWORD></config>",
        )
        .unwrap();
        assert!(matches!(
            v,
            SourceAddress::Vcn {
                stream_type: 2,
                port: 9000,
                ..
            }
        ));
        let e = parse_address(SourceType::Vcn, "<type_config><data_source_id>x</data_source_id><ip>h</ip><port>70000</port><user_name>u</user_name></type_config>").unwrap_err();
        assert_eq!(e.param, "type_config.port");
        let r = parse_address(SourceType::Restful, "<type_config><http_check>false</http_check><url>http://h/x</url><rtsp_url>data/url</rtsp_url></type_config>").unwrap();
        assert!(matches!(r, SourceAddress::Restful { http_check: false, .. }));
        let e = parse_address(
            SourceType::Restful,
            "<type_config><url>http://h/x</url><rtsp_url>data//url</rtsp_url></type_config>",
        )
        .unwrap_err();
        assert_eq!(e.param, "type_config.rtsp_url");
        assert!(parse_address(
            SourceType::Camera,
            "<type>CAMERA</type><config><EDGE_CAMERA_ID>cam1</EDGE_CAMERA_ID></config>"
        )
        .is_ok());
        assert!(parse_address(
            SourceType::Camera,
            "<type_config><device_id>d</device_id><name>n</name></type_config>"
        )
        .is_ok());
        assert!(parse_address(
            SourceType::Obs,
            "<type_config><bucket>my-bucket</bucket><path>v/a.mp4</path></type_config>"
        )
        .is_ok());
        assert_eq!(
            parse_address(
                SourceType::Obs,
                "<type_config><bucket>B</bucket><path>a</path></type_config>"
            )
            .unwrap_err()
            .param,
            "type_config.bucket"
        );
        let e = parse_address(
            SourceType::Ivm,
            "<type_config><device_id>d</device_id><channel_id>c</channel_id></type_config>",
        )
        .unwrap_err();
        assert_eq!(e.code, ErrorCode::IvmNotEnabled);
    }
}
