//! Cloud compile and flash, as far as a simulated device needs them.
//!
//! The sandbox has no compiler. It checks sources the way a learner's mistakes usually show up
//! (unbalanced braces, parentheses or brackets, an unterminated string or comment, no `setup()` or
//! `loop()`, and an `#error` directive, which is how to make a compile error on purpose), reporting each as `file:line:column: error: …` like gcc does, and decides what the
//! simulated device will do once flashed: sources that publish `WebhookDemo01` make it behave like
//! the demo firmware (at `cloud::firmware_facts::DEMO_VERSION`, whatever `PRODUCT_VERSION` they declare), anything
//! else like Tinker (it publishes nothing). A "binary" is a short text header saying which; any
//! other binary (such as Tinker's) is taken to be Tinker.

use std::time::Duration;

use crate::{
    Shared,
    cloud::firmware_facts,
    events::{self, Event},
    sim::{self, EVENT_NAME},
};

/// How a sandbox binary starts.
const MAGIC: &str = "webhook-demo sandbox binary\n";

/// What a binary does on a simulated device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Behaviour {
    Demo,
    Tinker,
}

/// One source file of a compile or flash request.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub name: String,
    pub text: String,
}

/// Checks the sources; the behaviour they give, or gcc-style error lines.
pub(crate) fn compile(sources: &[Source]) -> Result<Behaviour, Vec<String>> {
    let code: Vec<&Source> = sources
        .iter()
        .filter(|s| {
            [".cpp", ".ino", ".c", ".h", ".hpp"]
                .iter()
                .any(|e| s.name.ends_with(e))
        })
        .collect();
    if !code
        .iter()
        .any(|s| !s.name.ends_with(".h") && !s.name.ends_with(".hpp"))
    {
        return Err(vec![
            "error: no source files (.cpp, .ino or .c) were sent".to_owned(),
        ]);
    }
    let mut errors: Vec<String> = code
        .iter()
        .flat_map(|s| {
            let mut found = error_directives(s);
            found.extend(check_syntax(s));
            found
        })
        .collect();
    if errors.is_empty() {
        let all: String = code.iter().map(|s| s.text.as_str()).collect();
        for function in ["setup", "loop"] {
            if !all.contains(&format!("void {function}(")) {
                errors.push(format!("error: undefined reference to `{function}'"));
            }
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let publishes_demo = code
        .iter()
        .any(|s| s.text.contains(EVENT_NAME) && s.text.contains("Particle.publish"));
    Ok(if publishes_demo {
        Behaviour::Demo
    } else {
        Behaviour::Tinker
    })
}

/// `#error` directives, reported as the preprocessor does (a learner's way to see a compile error).
fn error_directives(source: &Source) -> Vec<String> {
    source
        .text
        .lines()
        .enumerate()
        .filter_map(|(index, line)| {
            let column = line.find("#error")?;
            line[..column].trim().is_empty().then(|| {
                format!(
                    "{}:{}:{}: error: {}",
                    source.name,
                    index + 1,
                    column + 2,
                    line[column..].trim()
                )
            })
        })
        .collect()
}

/// Unbalanced brackets and unterminated literals or comments in one file.
fn check_syntax(source: &Source) -> Vec<String> {
    let at = |line: usize, column: usize, message: String| {
        format!("{}:{line}:{column}: error: {message}", source.name)
    };
    let mut open: Vec<(char, usize, usize)> = Vec::new();
    let mut errors = Vec::new();
    let (mut line, mut column) = (1, 0);
    let mut chars = source.text.chars().peekable();
    while let Some(c) = chars.next() {
        column += 1;
        if c == '\n' {
            line += 1;
            column = 0;
            continue;
        }
        match c {
            '/' if chars.peek() == Some(&'/') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        line += 1;
                        column = 0;
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'*') => {
                let start = (line, column);
                chars.next();
                let mut closed = false;
                let mut previous = ' ';
                for c in chars.by_ref() {
                    column += 1;
                    if c == '\n' {
                        line += 1;
                        column = 0;
                    }
                    if previous == '*' && c == '/' {
                        closed = true;
                        break;
                    }
                    previous = c;
                }
                if !closed {
                    errors.push(at(start.0, start.1, "unterminated comment".to_owned()));
                }
            }
            '"' | '\'' => {
                let start = (line, column);
                let mut closed = false;
                while let Some(inner) = chars.next() {
                    column += 1;
                    match inner {
                        '\\' => {
                            chars.next();
                            column += 1;
                        }
                        '\n' => break,
                        _ if inner == c => {
                            closed = true;
                            break;
                        }
                        _ => {}
                    }
                }
                if !closed {
                    let what = if c == '"' { "\"" } else { "'" };
                    errors.push(at(
                        start.0,
                        start.1,
                        format!("missing terminating {what} character"),
                    ));
                    line += 1;
                    column = 0;
                }
            }
            '{' | '(' | '[' => open.push((c, line, column)),
            '}' | ')' | ']' => {
                let expected = match c {
                    '}' => '{',
                    ')' => '(',
                    _ => '[',
                };
                match open.pop() {
                    Some((opener, _, _)) if opener == expected => {}
                    Some((opener, _, _)) => {
                        let missing = closer_of(opener);
                        errors.push(at(
                            line,
                            column,
                            format!("expected '{missing}' before '{c}' token"),
                        ));
                        return errors;
                    }
                    None => {
                        errors.push(at(
                            line,
                            column,
                            format!("expected declaration before '{c}' token"),
                        ));
                        return errors;
                    }
                }
            }
            _ => {}
        }
    }
    if let Some((opener, open_line, open_column)) = open.pop() {
        let closer = closer_of(opener);
        errors.push(at(
            open_line,
            open_column,
            format!("expected '{closer}' at end of input (to match this '{opener}')"),
        ));
    }
    errors
}

fn closer_of(opener: char) -> char {
    match opener {
        '{' => '}',
        '(' => ')',
        _ => ']',
    }
}

/// The bytes of a sandbox binary.
pub(crate) fn binary(behaviour: Behaviour, platform_id: u32) -> Vec<u8> {
    let kind = match behaviour {
        Behaviour::Demo => "demo",
        Behaviour::Tinker => "tinker",
    };
    format!("{MAGIC}firmware={kind}\nplatform={platform_id}\n").into_bytes()
}

/// What a binary does once flashed.
pub(crate) fn behaviour_of(bytes: &[u8]) -> Behaviour {
    let text = String::from_utf8_lossy(bytes);
    match text.strip_prefix(MAGIC) {
        Some(rest) if rest.lines().any(|l| l == "firmware=demo") => Behaviour::Demo,
        _ => Behaviour::Tinker,
    }
}

/// Flashes a device over the air: `spark/flash/status` `started` then `success`, the device
/// reboots (`spark/status` offline, online) running the new behaviour, and publishes on connect
/// if that is the demo.
pub(crate) async fn flash(shared: Shared, device: String, behaviour: Behaviour) {
    let Some((owner, product)) = crate::lock(&shared)
        .devices
        .iter()
        .find(|d| d.id == device)
        .map(|d| {
            (
                d.owner.clone(),
                (d.product_id > 100).then_some(d.product_id),
            )
        })
    else {
        return;
    };
    let status = |data: &str| {
        events::publish(
            &shared,
            Event::new("spark/flash/status", data, &device, &owner, product),
        );
    };
    status("started");
    tokio::time::sleep(shared.settings.flash_time).await;
    status("success");
    let _ = sim::set_online(&shared, &device, false);
    if let Some(d) = crate::lock(&shared).device_mut(&device) {
        d.sim.demo_firmware = behaviour == Behaviour::Demo;
        // Tinker is not product firmware: it declares no `PRODUCT_VERSION`.
        d.firmware_version = d.sim.demo_firmware.then_some(firmware_facts::DEMO_VERSION);
    }
    let running = match behaviour {
        Behaviour::Demo => "the webhook demo",
        Behaviour::Tinker => "Tinker",
    };
    sim::log(&shared, &device, format!("restarted running {running}"));
    tokio::time::sleep(shared.settings.flash_time / 2).await;
    let _ = sim::set_online(&shared, &device, true);
}

/// Default time a flash takes (the simulated download and reboot).
pub(crate) const FLASH_TIME: Duration = Duration::from_millis(1500);

#[cfg(test)]
mod tests {
    use super::*;

    fn source(name: &str, text: &str) -> Source {
        Source {
            name: name.to_owned(),
            text: text.to_owned(),
        }
    }

    #[test]
    fn the_demo_firmware_compiles_to_the_demo_behaviour() {
        let text = include_str!("../../../firmware/webhook-demo/src/webhook-demo.cpp");
        assert_eq!(
            compile(&[source("src/webhook-demo.cpp", text)]),
            Ok(Behaviour::Demo)
        );
        let blink =
            "void setup() {}\nvoid loop() { /* } */ char c = '}'; const char *s = \"{\"; }\n";
        assert_eq!(
            compile(&[source("blink.ino", blink)]),
            Ok(Behaviour::Tinker)
        );
    }

    #[test]
    fn mistakes_are_reported_with_file_line_and_column() {
        let cases = [
            (
                "void setup() {\n  if (x {\n}\nvoid loop() {}\n",
                "a.cpp:2:6: error: expected ')' at end of input (to match this '(')",
            ),
            (
                "void setup() {}\n}\nvoid loop() {}\n",
                "a.cpp:2:1: error: expected declaration before '}' token",
            ),
            (
                "void setup() {\n  f(1;\n}\nvoid loop() {}\n",
                "a.cpp:3:1: error: expected ')' before '}' token",
            ),
            (
                "void setup() { Log.info(\"oops); }\nvoid loop() {}\n",
                "a.cpp:1:25: error: missing terminating \" character",
            ),
            (
                "void setup() {}\nvoid loop() {}\n/* never closed",
                "a.cpp:3:1: error: unterminated comment",
            ),
            ("void setup() {}\n", "error: undefined reference to `loop'"),
            (
                "void setup() {}\n  #error not yet\nvoid loop() {}\n",
                "a.cpp:2:4: error: #error not yet",
            ),
        ];
        for (text, expected) in cases {
            let errors = compile(&[source("a.cpp", text)]).expect_err(text);
            assert_eq!(errors[0], expected, "{text:?}");
        }
        assert_eq!(
            compile(&[source("README.md", "x"), source("lib.h", "")]),
            Err(vec![
                "error: no source files (.cpp, .ino or .c) were sent".to_owned()
            ])
        );
    }

    #[test]
    fn binaries_carry_their_behaviour_and_others_are_tinker() {
        assert_eq!(behaviour_of(&binary(Behaviour::Demo, 32)), Behaviour::Demo);
        assert_eq!(
            behaviour_of(&binary(Behaviour::Tinker, 32)),
            Behaviour::Tinker
        );
        assert_eq!(
            behaviour_of(b"\x00\x01 tinker.bin from Device OS"),
            Behaviour::Tinker
        );
    }
}
