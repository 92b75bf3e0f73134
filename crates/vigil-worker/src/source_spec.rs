//! From what the API stored (a video source, or a task's own input) to what the media layer opens.

use vigil_core::secret_box::SecretBox;
use vigil_core::task_io::TaskSource;
use vigil_media::{RtspTransport, SourceSpec};
use vigil_store::video_sources::SourceRecord;

/// `rtsp://` URLs go to the RTSP client (retina); everything else through libavformat.
pub fn from_url(url: &str) -> SourceSpec {
    if url.to_ascii_lowercase().starts_with("rtsp://") {
        SourceSpec::Rtsp {
            url: url.to_string(),
            user: None,
            password: None,
            transport: RtspTransport::Tcp,
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
        A::Url { url } => Ok(from_url(&url)),
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
