//! An answer before it is written, and how the version writes it: content type, the
//! `X-elastic-product` header of 7.14+, gzip when the client accepts it (ES's
//! `http.compression` is on by default without TLS), and no body for `HEAD`.

use std::io::Write;

use bytes::Bytes;
use http_body_util::Full;
use hyper::ext::ReasonPhrase;
use hyper::header::{HeaderValue, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use super::error::EsError;
use super::json::{filter_path, Json};
use super::versions::Profile;

pub(crate) const JSON: &str = "application/json";

pub(crate) enum Body {
    Json(Json),
    /// Bytes with a content type; `JSON` becomes the version's JSON content type.
    Raw(Vec<u8>, &'static str),
    /// No body and no content type, like ES's 413.
    Empty,
}

pub(crate) struct Reply {
    pub status: u16,
    pub body: Body,
}

impl Reply {
    pub(crate) fn json(status: u16, v: Json) -> Reply {
        Reply {
            status,
            body: Body::Json(v),
        }
    }

    pub(crate) fn error(e: &EsError) -> Reply {
        Reply::json(e.status, e.body())
    }

    /// `filter_path` and `pretty`, which ES applies to every JSON answer it builds.
    pub(crate) fn shape(&mut self, filter: Option<&str>, pretty: bool) {
        if let Body::Json(v) = &mut self.body {
            if let Some(spec) = filter.filter(|s| !s.is_empty()) {
                *v = filter_path(std::mem::replace(v, Json::Null), spec);
            }
            if pretty {
                let bytes = v.to_pretty();
                self.body = Body::Raw(bytes, JSON);
            }
        }
    }

    pub(crate) fn into_response(
        self,
        prof: &Profile,
        head: bool,
        gzip_ok: bool,
    ) -> Response<Full<Bytes>> {
        let (mut bytes, ctype) = match self.body {
            Body::Json(v) => (v.to_compact(), Some(prof.json_ctype)),
            Body::Raw(b, JSON) => (b, Some(prof.json_ctype)),
            Body::Raw(b, ct) => (b, Some(ct)),
            Body::Empty => (Vec::new(), None),
        };
        let mut gzipped = false;
        if gzip_ok && !head && !bytes.is_empty() {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            if enc.write_all(&bytes).is_ok() {
                if let Ok(z) = enc.finish() {
                    bytes = z;
                    gzipped = true;
                }
            }
        }
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut resp = Response::new(Full::new(Bytes::new()));
        *resp.status_mut() = status;
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            // Netty's phrase, which ES sends (fixtures/es/bulk-413-response.http).
            resp.extensions_mut()
                .insert(ReasonPhrase::from_static(b"Request Entity Too Large"));
        }
        let h = resp.headers_mut();
        if let Some(ct) = ctype {
            h.insert(CONTENT_TYPE, HeaderValue::from_static(ct));
        }
        if prof.product_header {
            h.insert(
                "x-elastic-product",
                HeaderValue::from_static("Elasticsearch"),
            );
        }
        if gzipped {
            h.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        h.insert(CONTENT_LENGTH, HeaderValue::from(bytes.len()));
        if !head {
            *resp.body_mut() = Full::new(Bytes::from(bytes));
        }
        resp
    }
}
