//! The firmware panel's files, made at build time so the page carries none of this work: the
//! demo firmware project as a `.zip`, its files as they are (the page flashes them), and each
//! file syntax-highlighted into `sources.html`, which the page shows.

use std::{
    fs,
    io::{Cursor, Write},
    path::{Path, PathBuf},
};

use anyhow::{Context, Result};
use zip::{ZipWriter, write::SimpleFileOptions};

/// The project's files, relative to `firmware/webhook-demo/`, in the order the page lists them.
pub const FILES: [&str; 3] = ["src/webhook-demo.cpp", "project.properties", "README.md"];

/// Writes `firmware/` into the staged site.
pub fn build(root: &Path, site: &Path) -> Result<()> {
    let project = root.join("firmware/webhook-demo");
    let out = site.join("firmware");
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let mut sources = String::new();
    for file in FILES {
        let path = project.join(file);
        let text =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let copy: PathBuf = out.join("webhook-demo").join(file);
        fs::create_dir_all(copy.parent().expect("a parent"))?;
        fs::write(&copy, &text)?;
        zip.start_file(format!("webhook-demo/{file}"), SimpleFileOptions::default())?;
        zip.write_all(text.as_bytes())?;
        let code = if file.ends_with(".cpp") || file.ends_with(".h") {
            highlight_cpp(&text)
        } else {
            escape(&text)
        };
        sources.push_str(&format!(
            "<pre class=\"source\" data-file=\"{file}\" contenteditable=\"plaintext-only\" tabindex=\"0\" spellcheck=\"false\" aria-label=\"{file}, editable\"><code>{code}</code></pre>\n"
        ));
    }
    fs::write(out.join("webhook-demo.zip"), zip.finish()?.into_inner())?;
    fs::write(out.join("sources.html"), sources)?;
    Ok(())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

const KEYWORDS: [&str; 24] = [
    "bool", "break", "case", "char", "const", "continue", "default", "else", "false", "float",
    "for", "if", "int", "long", "return", "sizeof", "static", "struct", "switch", "true",
    "unsigned", "void", "volatile", "while",
];

/// C++ with comments, strings, preprocessor lines, keywords and numbers in `<span class>`es.
pub fn highlight_cpp(text: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let span = |out: &mut String, class: &str, part: &str| {
        out.push_str(&format!("<span class=\"{class}\">{}</span>", escape(part)));
    };
    let at_line_start = |i: usize| {
        chars[..i]
            .iter()
            .rev()
            .take_while(|c| **c != '\n')
            .all(|c| c.is_whitespace())
    };
    while i < chars.len() {
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let end = if rest == "//" || (chars[i] == '#' && at_line_start(i)) {
            let len = chars[i..]
                .iter()
                .position(|c| *c == '\n')
                .unwrap_or(chars.len() - i);
            let class = if chars[i] == '#' { "p" } else { "c" };
            span(
                &mut out,
                class,
                &chars[i..i + len].iter().collect::<String>(),
            );
            i + len
        } else if rest == "/*" {
            let body: String = chars[i..].iter().collect();
            let len = body.find("*/").map_or(body.len(), |at| at + 2);
            let len = body[..len].chars().count();
            span(&mut out, "c", &chars[i..i + len].iter().collect::<String>());
            i + len
        } else if chars[i] == '"' || chars[i] == '\'' {
            let quote = chars[i];
            let mut j = i + 1;
            while j < chars.len() && chars[j] != quote && chars[j] != '\n' {
                j += if chars[j] == '\\' { 2 } else { 1 };
            }
            let j = (j + 1).min(chars.len());
            span(&mut out, "s", &chars[i..j].iter().collect::<String>());
            j
        } else if chars[i].is_ascii_alphabetic() || chars[i] == '_' {
            let len = chars[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
                .count();
            let word: String = chars[i..i + len].iter().collect();
            if KEYWORDS.contains(&word.as_str()) {
                span(&mut out, "k", &word);
            } else {
                out.push_str(&word);
            }
            i + len
        } else if chars[i].is_ascii_digit() {
            let len = chars[i..]
                .iter()
                .take_while(|c| c.is_ascii_alphanumeric() || **c == '.')
                .count();
            span(&mut out, "n", &chars[i..i + len].iter().collect::<String>());
            i + len
        } else {
            out.push_str(&escape(&chars[i].to_string()));
            i + 1
        };
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_zip_holds_the_project_files_byte_for_byte() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let site =
            std::env::temp_dir().join(format!("webhook-demo-firmware-{}", std::process::id()));
        build(&root, &site).expect("builds");
        let bytes = fs::read(site.join("firmware/webhook-demo.zip")).expect("a zip");
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("readable");
        let mut names = Vec::new();
        for index in 0..archive.len() {
            let mut entry = archive.by_index(index).expect("an entry");
            let mut content = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut content).expect("inflates");
            let file = entry
                .name()
                .strip_prefix("webhook-demo/")
                .expect("in the project folder");
            let original = fs::read(root.join("firmware/webhook-demo").join(file)).expect("source");
            assert_eq!(content, original, "{file}");
            names.push(file.to_owned());
        }
        assert_eq!(names, FILES);
        let sources = fs::read_to_string(site.join("firmware/sources.html")).expect("sources");
        assert_eq!(
            sources.matches("<pre class=\"source\"").count(),
            FILES.len()
        );
        fs::remove_dir_all(&site).expect("cleaned up");
    }

    #[test]
    fn cpp_is_highlighted_and_escaped_without_losing_text() {
        let source = "#include \"Particle.h\"\n// a <b>\nint n = 5; /* x */ const char *s = \"a<\\\"b\";\nvoid f() {}\n";
        let html = highlight_cpp(source);
        assert!(
            html.contains("<span class=\"p\">#include &quot;Particle.h&quot;</span>")
                || html.contains("<span class=\"p\">#include \"Particle.h\"</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"c\">// a &lt;b&gt;</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"k\">int</span> n = <span class=\"n\">5</span>;"),
            "{html}"
        );
        assert!(html.contains("<span class=\"c\">/* x */</span>"), "{html}");
        assert!(
            html.contains("<span class=\"s\">\"a&lt;\\\"b\"</span>"),
            "{html}"
        );
        // Without the tags and entities, the text is the source.
        let mut text = String::new();
        let mut in_tag = false;
        for c in html.chars() {
            match c {
                '<' => in_tag = true,
                '>' if in_tag => in_tag = false,
                c if !in_tag => text.push(c),
                _ => {}
            }
        }
        let text = text
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&");
        assert_eq!(text, source);
    }
}
