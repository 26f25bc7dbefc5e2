//! The image `/call` answers with: the operator's file from the data
//! directory, typed by its extension, or a built-in transparent pixel.
//!
//! Read once at start; must not be read again per request, and must not
//! guess a type from the content (the extension is the operator's word).

use std::path::Path;

use bytes::Bytes;

/// The image `/call` answers with.
#[derive(Debug, Clone)]
pub struct ResponseImage {
    pub bytes: Bytes,
    pub content_type: &'static str,
}

/// The smallest valid GIF: one transparent pixel.
const TRANSPARENT_GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

impl ResponseImage {
    /// The default image: invisible wherever the page puts it.
    pub(super) fn transparent_pixel() -> Self {
        ResponseImage {
            bytes: Bytes::from_static(TRANSPARENT_GIF),
            content_type: "image/gif",
        }
    }
}

/// Reads `data_dir/name`; the message names the file or the extension.
pub(super) fn load_response(data_dir: &Path, name: &str) -> Result<ResponseImage, String> {
    let content_type = content_type_for(name)
        .ok_or_else(|| format!("{name:?} has no image extension (svg, png, gif, webp, ico, jpg, jpeg)"))?;
    let file = data_dir.join(name);
    let bytes = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok(ResponseImage {
        bytes: Bytes::from(bytes),
        content_type,
    })
}

fn content_type_for(file_name: &str) -> Option<&'static str> {
    let ext = Path::new(file_name).extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "jpg" | "jpeg" => "image/jpeg",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type_for("a.SVG"), Some("image/svg+xml"));
        assert_eq!(content_type_for("a.jpeg"), Some("image/jpeg"));
        assert_eq!(content_type_for("a.txt"), None);
    }
}
