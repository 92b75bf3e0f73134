//! From what the API stored (a video source, or a task's own input) to what the media layer opens.

use vigil_core::secret_box::SecretBox;
use vigil_core::task_io::TaskSource;
use vigil_media::{RtspTransport, SourceSpec};
use vigil_store::video_sources::SourceRecord;

/// `rtsp://` URLs go to the RTSP client (retina); everything else through libavformat. An
/// `rtsps://` camera's certificate is verified (task inputs and `vigil analyze` have no opt-out).
pub fn from_url(url: &str) -> SourceSpec {
    url_spec(url, true)
}

/// [`from_url`] with the source's `certificate_check` (an `rtsps://` address becomes an RTSP
/// spec carrying it; libavformat still opens it).
pub fn url_spec(url: &str, tls_verify: bool) -> SourceSpec {
    let lower = url.to_ascii_lowercase();
    if lower.starts_with("rtsp://") || lower.starts_with("rtsps://") {
        SourceSpec::Rtsp {
            url: url.to_string(),
            user: None,
            password: None,
            transport: RtspTransport::Tcp,
            tls_verify,
        }
    } else {
        SourceSpec::url(url)
    }
}

/// The spec of a registered video source, or why Vigil cannot open it. `secrets` opens the
/// password sealed in a stored `url_address` (right before connecting, never stored opened).
pub fn from_source(src: &SourceRecord, secrets: Option<&SecretBox>) -> Result<SourceSpec, String> {
    let ty = vigil_core::video_source::SourceType::parse("type", &src.source_type).map_err(|e| e.message)?;
    let type_config = match secrets {
        Some(s) => vigil_core::secret_fields::open_type_config(s, &src.type_config),
        None => src.type_config.clone(),
    };
    let addr = vigil_core::video_source::parse_address(ty, &type_config).map_err(|e| e.message)?;
    use vigil_core::video_source::SourceAddress as A;
    match addr {
        A::Url { url, tls_verify } => Ok(url_spec(&url, tls_verify)),
        A::Restful {
            url,
            rtsp_path,
            http_check,
        } => Ok(SourceSpec::Restful {
            url,
            headers: Vec::new(),
            cert_check: http_check,
            path: rtsp_path,
        }),
        A::Obs { bucket, path } => Ok(SourceSpec::Obs {
            project: src.project_id.clone(),
            bucket,
            path,
        }),
        other => Err(format!("Vigil cannot pull {} sources", kind(&other))),
    }
}

fn kind(a: &vigil_core::video_source::SourceAddress) -> &'static str {
    use vigil_core::video_source::SourceAddress as A;
    match a {
        A::Vcn { .. } => "vcn",
        A::Camera { .. } => "camera",
        A::Ivm { .. } => "ivm",
        _ => "this kind of",
    }
}

/// The spec of a task input that names its stream directly; `project_id` is the task's project
/// (an `obs` input reads only objects under that project's prefix).
pub fn from_task_source(src: &TaskSource, project_id: &str) -> Option<SourceSpec> {
    match src {
        TaskSource::Url { url } => Some(from_url(url)),
        TaskSource::Restful {
            url,
            headers,
            certificate_check,
            rtsp_path,
        } => Some(SourceSpec::Restful {
            url: url.clone(),
            headers: headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            cert_check: *certificate_check,
            path: rtsp_path.clone(),
        }),
        TaskSource::Obs { bucket, path } => Some(SourceSpec::Obs {
            project: project_id.to_string(),
            bucket: bucket.clone(),
            path: path.clone(),
        }),
        TaskSource::VideoSource { .. } => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url_source(type_config: &str) -> SourceRecord {
        SourceRecord {
            id: "s".into(),
            project_id: "p".into(),
            name: "n".into(),
            access_type: "cloud".into(),
            source_type: "url".into(),
            type_config: type_config.into(),
            password_sealed: None,
            latitude: String::new(),
            longitude: String::new(),
            tags: Vec::new(),
            status: 1,
            stream_path: String::new(),
            image: String::new(),
            quality: Vec::new(),
            scene_recommend: Vec::new(),
            create_at: 0,
            modify_at: 0,
        }
    }

    fn tls_verify(spec: &SourceSpec) -> Option<bool> {
        match spec {
            SourceSpec::Rtsp { tls_verify, .. } => Some(*tls_verify),
            _ => None,
        }
    }

    /// The source's `<certificate_check>` reaches the media layer; task inputs always verify.
    #[test]
    fn rtsps_certificate_check_is_carried_per_source() {
        let url = "rtsps://127.0.0.1:8322/cam";
        let opted_out = url_source(&format!(
            "<type_config><url_address>{url}</url_address><certificate_check>0</certificate_check></type_config>"
        ));
        let spec = from_source(&opted_out, None).expect("spec");
        assert_eq!(tls_verify(&spec), Some(false));
        let default = url_source(&format!("<type_config><url_address>{url}</url_address></type_config>"));
        assert_eq!(tls_verify(&from_source(&default, None).expect("spec")), Some(true));
        let input = TaskSource::Url { url: url.into() };
        assert_eq!(tls_verify(&from_task_source(&input, "p").expect("spec")), Some(true));
    }
}
