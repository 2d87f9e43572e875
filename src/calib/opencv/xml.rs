//! The XML side of `cv::FileStorage`: one forward pass over the text (linear in its
//! length), nesting at most [`MAX_DEPTH`] elements deep.

use std::collections::HashSet;

use super::{Node, ParseError, bad, matrix, unquote};

/// Deepest element nesting read (FileStorage calibrations use 3: the root, a matrix, its
/// `data`); deeper files are refused.
pub(crate) const MAX_DEPTH: usize = 64;

fn plain(reason: impl Into<String>) -> ParseError {
    (None, reason.into())
}

/// One piece of XML.
#[derive(Debug, PartialEq)]
enum Token<'a> {
    /// Character data (a CDATA section's content too).
    Text(&'a str),
    /// `<name attrs>`, or `<name attrs/>` when `empty`.
    Open {
        name: &'a str,
        attrs: &'a str,
        empty: bool,
    },
    /// `</name>`.
    Close(&'a str),
}

/// Splits XML text into [`Token`]s, skipping comments, processing instructions and
/// declarations. Every search starts where the last one ended, so a pass is linear.
struct Tokens<'a> {
    rest: &'a str,
}

impl<'a> Tokens<'a> {
    /// The text up to `end` (searched from the start of the rest), and the rest after it.
    fn until(&mut self, start: usize, end: &str, what: &str) -> Result<&'a str, ParseError> {
        let body = &self.rest[start..];
        let at = body
            .find(end)
            .ok_or_else(|| plain(format!("XML: unterminated {what}")))?;
        self.rest = &body[at + end.len()..];
        Ok(&body[..at])
    }

    fn next_token(&mut self) -> Result<Option<Token<'a>>, ParseError> {
        loop {
            let rest = self.rest;
            if rest.is_empty() {
                return Ok(None);
            }
            if !rest.starts_with('<') {
                let end = rest.find('<').unwrap_or(rest.len());
                self.rest = &rest[end..];
                return Ok(Some(Token::Text(&rest[..end])));
            }
            if rest.starts_with("<!--") {
                self.until(4, "-->", "comment")?;
            } else if rest.starts_with("<![CDATA[") {
                return Ok(Some(Token::Text(self.until(9, "]]>", "CDATA section")?)));
            } else if rest.starts_with("<?") {
                self.until(2, "?>", "processing instruction")?;
            } else if rest.starts_with("<!") {
                self.until(2, ">", "declaration")?;
            } else if rest.starts_with("</") {
                let name = self.until(2, ">", "end tag")?.trim();
                return Ok(Some(Token::Close(name)));
            } else {
                return self.open_tag().map(Some);
            }
        }
    }

    /// `<name attrs>` or `<name attrs/>`; a `>` inside a quoted attribute value does not end it.
    fn open_tag(&mut self) -> Result<Token<'a>, ParseError> {
        let body = &self.rest[1..];
        let mut quote = None;
        let end = body
            .char_indices()
            .find(|&(_, c)| match quote {
                Some(q) => {
                    if c == q {
                        quote = None;
                    }
                    false
                }
                None if c == '"' || c == '\'' => {
                    quote = Some(c);
                    false
                }
                None => c == '>',
            })
            .map(|(i, _)| i)
            .ok_or_else(|| plain("XML: unterminated tag"))?;
        self.rest = &body[end + 1..];
        let tag = &body[..end];
        let (tag, empty) = match tag.strip_suffix('/') {
            Some(t) => (t, true),
            None => (tag, false),
        };
        let (name, attrs) = tag.split_once(char::is_whitespace).unwrap_or((tag, ""));
        if name.is_empty() {
            return Err(plain("XML: a tag without a name"));
        }
        Ok(Token::Open { name, attrs, empty })
    }
}

/// A top-level entry being read.
struct Entry<'a> {
    name: &'a str,
    matrix: bool,
    text: String,
    has_children: bool,
    fields: Vec<(String, String)>,
}

impl Entry<'_> {
    fn node(self) -> Result<(String, Node), ParseError> {
        let node = if self.matrix {
            matrix(self.name, &self.fields)?
        } else if self.has_children {
            Node::Other
        } else {
            Node::Scalar(unquote(self.text.trim()).to_owned())
        };
        Ok((self.name.to_owned(), node))
    }
}

/// Top-level entries of a FileStorage XML text (the children of `<opencv_storage>`).
pub(super) fn nodes(text: &str) -> Result<Vec<(String, Node)>, ParseError> {
    let mut tokens = Tokens { rest: text };
    let mut stack: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut entry: Option<Entry<'_>> = None;
    let mut field: Option<(&str, String)> = None;
    let mut root_done = false;
    while let Some(token) = tokens.next_token()? {
        match token {
            Token::Text(t) => match (stack.len(), entry.as_mut(), field.as_mut()) {
                (2, Some(e), _) => e.text.push_str(t),
                (3, _, Some((_, v))) => v.push_str(t),
                (0 | 1, _, _) if !t.trim().is_empty() => {
                    return Err(plain(format!("XML: unexpected text `{}`", t.trim())));
                }
                _ => {}
            },
            Token::Open { name, attrs, empty } => {
                match stack.len() {
                    0 if name != "opencv_storage" => {
                        return Err(plain(format!(
                            "XML: expected the <opencv_storage> element, found <{name}>"
                        )));
                    }
                    1 => {
                        if !seen.insert(name) {
                            return Err(bad(name, "appears twice"));
                        }
                        entry = Some(Entry {
                            name,
                            matrix: attrs.contains("opencv-matrix"),
                            text: String::new(),
                            has_children: false,
                            fields: Vec::new(),
                        });
                    }
                    2 => {
                        if let Some(e) = entry.as_mut() {
                            e.has_children = true;
                        }
                        field = Some((name, String::new()));
                    }
                    _ => {}
                }
                if empty {
                    close(stack.len(), &mut entry, &mut field, &mut out)?;
                    if stack.is_empty() {
                        root_done = true;
                        break;
                    }
                } else {
                    stack.push(name);
                    if stack.len() > MAX_DEPTH {
                        return Err(plain(format!(
                            "XML: elements nested deeper than {MAX_DEPTH} levels"
                        )));
                    }
                }
            }
            Token::Close(name) => {
                let open = stack
                    .pop()
                    .ok_or_else(|| plain(format!("XML: `</{name}>` closes nothing")))?;
                if open != name {
                    return Err(bad(open, format!("XML: `</{name}>` closes `<{open}>`")));
                }
                close(stack.len(), &mut entry, &mut field, &mut out)?;
                if stack.is_empty() {
                    root_done = true;
                    break;
                }
            }
        }
    }
    if let Some(open) = stack.last() {
        return Err(bad(open, format!("XML: no `</{open}>`")));
    }
    if !root_done {
        return Err(plain("XML: no <opencv_storage> element"));
    }
    Ok(out)
}

/// Ends the element that was open at `depth` (0 = the root).
fn close(
    depth: usize,
    entry: &mut Option<Entry<'_>>,
    field: &mut Option<(&str, String)>,
    out: &mut Vec<(String, Node)>,
) -> Result<(), ParseError> {
    match depth {
        1 => {
            if let Some(e) = entry.take() {
                out.push(e.node()?);
            }
        }
        2 => {
            if let (Some((name, value)), Some(e)) = (field.take(), entry.as_mut()) {
                e.fields.push((name.to_owned(), value));
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_skip_comments_and_keep_quoted_brackets() {
        let mut t = Tokens {
            rest: "<?xml v?><!-- a > b --><m a=\"x>y\"/>t<![CDATA[<c>]]></m>",
        };
        let mut all = Vec::new();
        while let Some(tok) = t.next_token().unwrap() {
            all.push(tok);
        }
        assert_eq!(
            all,
            [
                Token::Open {
                    name: "m",
                    attrs: "a=\"x>y\"",
                    empty: true
                },
                Token::Text("t"),
                Token::Text("<c>"),
                Token::Close("m"),
            ]
        );
    }

    #[test]
    fn names_sharing_a_prefix_nest_correctly() {
        // The old reader looked only at the first `<m` after a tag: `<mm/>` hid the nested
        // `<m>`, and the outer `<m>` ended at the inner one's end tag.
        let text = "<opencv_storage><m><mm/><m>1</m></m><x>2</x></opencv_storage>";
        assert_eq!(
            nodes(text).unwrap(),
            [
                ("m".to_owned(), Node::Other),
                ("x".to_owned(), Node::Scalar("2".to_owned()))
            ]
        );
    }

    #[test]
    fn nesting_and_structure_errors() {
        let deep = format!(
            "<opencv_storage>{}{}</opencv_storage>",
            "<a>".repeat(MAX_DEPTH),
            "</a>".repeat(MAX_DEPTH)
        );
        let (_, reason) = nodes(&deep).unwrap_err();
        assert!(reason.contains("deeper than 64"), "{reason}");
        let ok = format!(
            "<opencv_storage>{}{}</opencv_storage>",
            "<a>".repeat(MAX_DEPTH - 1),
            "</a>".repeat(MAX_DEPTH - 1)
        );
        assert_eq!(nodes(&ok).unwrap(), [("a".to_owned(), Node::Other)]);
        let (key, reason) = nodes("<opencv_storage><a><b></a></opencv_storage>").unwrap_err();
        assert_eq!(
            (key.as_deref(), reason.as_str()),
            (Some("b"), "XML: `</a>` closes `<b>`")
        );
        let (key, _) = nodes("<opencv_storage><xi>1</xi><xi>2</xi></opencv_storage>").unwrap_err();
        assert_eq!(key.as_deref(), Some("xi"));
        let (key, reason) = nodes("<opencv_storage><xi>1</xi>").unwrap_err();
        assert_eq!(key.as_deref(), Some("opencv_storage"), "{reason}");
        assert!(nodes("<other/>").is_err());
        assert!(nodes("<opencv_storage><a b='></opencv_storage>").is_err());
    }
}
