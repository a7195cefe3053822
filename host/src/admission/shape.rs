//! What a GraphQL request asks for, read from its document before it runs:
//! the operation type and its root fields (aliases and fragments included).

use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType, Selection, SelectionSet};

/// The root fields that start a generation: each is one write and counts
/// against the daily and queue limits.
const STARTS: [&str; 2] = ["generate", "videoCreate"];

/// Most selections [`inspect`] looks at, fragments expanded. Fragments that
/// spread each other many times over would otherwise make a document of a
/// few kilobytes cost billions of steps (and as many names in memory); a
/// document that reaches it is [`Oversized::Selections`] (and counts as
/// this many root fields).
pub const MAX_SELECTIONS: usize = 10_000;

/// Deepest nesting of `{`, `[` and `(` parsed. async-graphql's parser
/// recurses once per nested argument value with no limit of its own, so a
/// request of a few hundred nested `[{` would overflow a worker thread's
/// stack (an abort, not an error). A document nested deeper is not parsed
/// here, is [`Oversized::Nesting`], and admission refuses it before
/// execution would parse it.
pub const MAX_NESTING: usize = 128;

/// Why a document is refused before it is even parsed or expanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Oversized {
    /// Brackets nest deeper than [`MAX_NESTING`].
    Nesting,
    /// Fragments expand to more than [`MAX_SELECTIONS`] selections.
    Selections,
}

/// The operation type of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A document that does not parse or does not say which operation to
    /// run: execution reports why (it counts as a read).
    Unknown,
    /// A query.
    Query,
    /// A mutation.
    Mutation,
    /// A subscription.
    Subscription,
}

/// What a request asks for, as far as limits, idempotency and metrics care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// The operation type.
    pub kind: Kind,
    /// Root fields of the operation, aliases and fragments included
    /// (`__typename` excepted).
    pub roots: usize,
    /// Root fields that start a generation (`generate`, `videoCreate`).
    pub starts: usize,
    /// Set when the document is too deep or too large to look at.
    pub oversized: Option<Oversized>,
}

impl Shape {
    /// A mutation whose only root field starts one generation.
    pub fn starts_one(&self) -> bool {
        self.kind == Kind::Mutation && self.roots == 1 && self.starts == 1
    }

    /// Whether the operation changes anything.
    pub fn is_write(&self) -> bool {
        self.kind == Kind::Mutation
    }

    /// The metrics label of the operation.
    pub fn operation(&self) -> crate::metrics::Operation {
        use crate::metrics::Operation;
        match self.kind {
            Kind::Mutation if self.starts_one() => Operation::Generate,
            Kind::Mutation => Operation::Mutation,
            Kind::Unknown | Kind::Query | Kind::Subscription => Operation::Query,
        }
    }
}

/// The [`Shape`] of `query` (run as `operation_name`).
pub fn inspect(query: &str, operation_name: Option<&str>) -> Shape {
    let unknown = Shape { kind: Kind::Unknown, roots: 0, starts: 0, oversized: None };
    if nesting(query) > MAX_NESTING {
        return Shape { roots: MAX_SELECTIONS, oversized: Some(Oversized::Nesting), ..unknown };
    }
    let Ok(doc) = async_graphql::parser::parse_query(query) else { return unknown };
    let operation = match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        _ => None,
    };
    let Some(operation) = operation else { return unknown };
    let mut names = Vec::new();
    // One over: a document of exactly MAX_SELECTIONS fields is counted, not cut.
    let mut budget = MAX_SELECTIONS + 1;
    roots(&operation.node.selection_set.node, &doc, 0, &mut budget, &mut names);
    let kind = match operation.node.ty {
        OperationType::Query => Kind::Query,
        OperationType::Mutation => Kind::Mutation,
        OperationType::Subscription => Kind::Subscription,
    };
    let starts = names.iter().filter(|name| STARTS.contains(name)).count();
    let (roots, oversized) =
        if budget == 0 { (MAX_SELECTIONS, Some(Oversized::Selections)) } else { (names.len(), None) };
    Shape { kind, roots, starts, oversized }
}

/// The deepest nesting of brackets in `query`, outside strings and comments.
fn nesting(query: &str) -> usize {
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && !matches!(bytes[i], b'\n' | b'\r') {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") { 4 } else { 1 };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && !matches!(bytes[i], b'"' | b'\n' | b'\r') {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// Root field names, looking through fragments (a few levels: fragments
/// that nest deeper are refused by validation or the depth limit anyway),
/// looking at no more than `budget` selections.
fn roots<'a>(
    set: &'a SelectionSet,
    doc: &'a ExecutableDocument,
    depth: usize,
    budget: &mut usize,
    out: &mut Vec<&'a str>,
) {
    for item in &set.items {
        let Some(left) = budget.checked_sub(1) else { return };
        *budget = left;
        match &item.node {
            Selection::Field(f) if f.node.name.node != "__typename" => out.push(f.node.name.node.as_str()),
            Selection::Field(_) => {}
            Selection::InlineFragment(f) if depth < 4 => roots(&f.node.selection_set.node, doc, depth + 1, budget, out),
            Selection::FragmentSpread(s) if depth < 4 => {
                if let Some(f) = doc.fragments.get(&s.node.fragment_name.node) {
                    roots(&f.node.selection_set.node, doc, depth + 1, budget, out);
                }
            }
            _ => out.push("…"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_aliases_fragments_and_starts() {
        let s = inspect("mutation { a: generate(input: {}) { id } b: generate(input: {}) { id } }", None);
        assert_eq!((s.kind, s.roots, s.starts), (Kind::Mutation, 2, 2));
        assert!(!s.starts_one());
        let s = inspect("mutation { ...F } fragment F on MutationRoot { generate(input: {}) { id } }", None);
        assert!(s.starts_one());
        let s = inspect("mutation { cancelGeneration(id: \"x\") __typename }", None);
        assert_eq!((s.roots, s.starts), (1, 0));
        let s = inspect("subscription { generationUpdated(id: \"x\") { id } }", None);
        assert_eq!(s.kind, Kind::Subscription);
        assert_eq!(inspect("not graphql", None).kind, Kind::Unknown);
        let two = "query A { account { id } } mutation B { generate(input: {}) { id } }";
        assert_eq!(inspect(two, Some("B")).kind, Kind::Mutation);
        assert_eq!(inspect(two, None).kind, Kind::Unknown);
    }
}

#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    fn config(cases: u32) -> ProptestConfig {
        ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
    }

    /// Root field names the grammar draws from: starts, `__typename` and others.
    const NAMES: [&str; 6] = ["generate", "videoCreate", "__typename", "account", "cancelGeneration", "id"];

    /// `alias: name(args)`, alias and arguments optional.
    fn field_head() -> impl Strategy<Value = String> {
        (prop::option::of("[a-z_][a-zA-Z0-9_]{0,5}"), prop::sample::select(&NAMES[..]), any::<bool>()).prop_map(
            |(alias, name, args)| {
                let alias = alias.map(|a| format!("{a}: ")).unwrap_or_default();
                let args = if args { r#"(input: {prompt: "x", n: [1, 2.5, null, $v], e: ENUM})"# } else { "" };
                format!("{alias}{name}{args}")
            },
        )
    }

    /// One selection: a field (with or without a sub-selection), a spread of
    /// one of the fragments `F0`..`F4` (which may not exist, or be cyclic),
    /// or an inline fragment; nested a few levels.
    fn selection() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![4 => field_head(), 1 => (0..5u8).prop_map(|i| format!("...F{i}"))];
        leaf.prop_recursive(6, 96, 6, |inner| {
            let set = prop::collection::vec(inner, 0..6).prop_map(|items| format!("{{ {} }}", items.join(" ")));
            prop_oneof![
                (field_head(), set.clone()).prop_map(|(head, set)| format!("{head} {set}")),
                (prop::option::of(prop::sample::select(vec!["MutationRoot", "QueryRoot", "T"])), set).prop_map(
                    |(on, set)| match on {
                        Some(ty) => format!("... on {ty} {set}"),
                        None => format!("... {set}"),
                    }
                ),
            ]
        })
    }

    fn selection_set() -> impl Strategy<Value = String> {
        prop::collection::vec(selection(), 0..8).prop_map(|items| format!("{{ {} }}", items.join(" ")))
    }

    /// A GraphQL-ish document: 1–3 operations (shorthand, or typed and
    /// maybe named), 0–4 fragments, and the operation name asked for.
    fn document() -> impl Strategy<Value = (String, Option<String>)> {
        let operation = (
            prop::sample::select(vec!["", "query", "mutation", "subscription"]),
            prop::option::of(prop::sample::select(vec!["A", "B", "C"])),
            selection_set(),
        )
            .prop_map(|(ty, name, set)| match ty {
                "" => set,
                ty => format!("{ty} {} {set}", name.unwrap_or_default()),
            });
        (
            prop::collection::vec(operation, 1..4),
            prop::collection::vec(selection_set(), 0..5),
            prop::option::of(prop::sample::select(vec!["A", "B", "C", "Z", ""])),
        )
            .prop_map(|(operations, fragments, name)| {
                let mut doc = operations.join("\n");
                for (i, set) in fragments.iter().enumerate() {
                    doc.push_str(&format!("\nfragment F{i} on T {set}"));
                }
                (doc, name.map(str::to_string))
            })
    }

    /// What every shape must satisfy, whatever the document.
    fn consistent(shape: Shape) -> Result<(), TestCaseError> {
        prop_assert!(shape.roots >= shape.starts, "{shape:?}");
        prop_assert!(shape.roots <= MAX_SELECTIONS, "{shape:?}");
        if shape.kind == Kind::Unknown {
            // Unparsed, or too deep to parse (then refused as too many roots).
            prop_assert_eq!(shape.starts, 0);
            prop_assert!(shape.roots == 0 || shape.roots == MAX_SELECTIONS, "{shape:?}");
        }
        prop_assert_eq!(shape.starts_one(), shape.kind == Kind::Mutation && shape.roots == 1 && shape.starts == 1);
        Ok(())
    }

    proptest! {
        #![proptest_config(config(256))]

        /// Any string, and any string over GraphQL's punctuation, gives a
        /// consistent shape without panicking.
        #[test]
        fn any_text_is_inspected(query in any::<String>(), punct in r#"[{}()\[\]:.,"$@!#=|&a-zA-Z0-9_ \n\\]{0,300}"#, name in prop::option::of(".{0,8}")) {
            consistent(inspect(&query, name.as_deref()))?;
            consistent(inspect(&punct, name.as_deref()))?;
            consistent(inspect(&format!("mutation {{ {punct} }}"), None))?;
        }

        /// Generated documents (nested selections, aliases, inline and named
        /// fragments, cyclic and missing fragments, several operations) give
        /// a consistent shape without panicking.
        #[test]
        fn grammar_documents_are_inspected((doc, name) in document()) {
            consistent(inspect(&doc, name.as_deref()))?;
        }

        /// A single operation of plain root fields is counted exactly: every
        /// field but `__typename` is a root, every `generate`/`videoCreate`
        /// a start, whatever the aliases, and however many there are.
        #[test]
        fn plain_root_fields_are_counted_exactly(
            ty in prop::sample::select(vec!["query", "mutation", "subscription"]),
            fields in prop::collection::vec((prop::sample::select(&NAMES[..]), 0..3usize), 0..600),
        ) {
            let body: Vec<String> = fields
                .iter()
                .enumerate()
                .map(|(i, (name, style))| match style {
                    0 => format!("{name} {{ id }}"),
                    1 => format!("a{i}: {name} {{ id }}"),
                    _ => format!("a{i}: {name}(input: {{}})"),
                })
                .collect();
            let shape = inspect(&format!("{ty} Op {{ {} }}", body.join(" ")), Some("Op"));
            let roots = fields.iter().filter(|(name, _)| *name != "__typename").count();
            let starts = fields.iter().filter(|(name, _)| STARTS.contains(name)).count();
            if fields.is_empty() {
                prop_assert_eq!(shape.kind, Kind::Unknown);
            } else {
                let kind = match ty { "query" => Kind::Query, "mutation" => Kind::Mutation, _ => Kind::Subscription };
                prop_assert_eq!(shape, Shape { kind, roots, starts, oversized: None });
            }
        }

        /// Deeply nested selections, inline fragments and argument values
        /// are inspected on a worker-sized (2 MiB) stack without panicking
        /// or overflowing it: past [`MAX_NESTING`] brackets the document is
        /// not parsed and counts as too many root fields.
        #[test]
        fn deep_nesting_is_inspected(depth in 0..3000usize, style in 0..4u8) {
            let (query, brackets) = match style {
                0 => (format!("mutation {{ generate {}id{} }}", "{ a ".repeat(depth), " }".repeat(depth)), depth + 1),
                1 => (format!("mutation {{ {} generate {} }}", "... { ".repeat(depth), " }".repeat(depth)), depth + 1),
                2 => (
                    format!("mutation {{ generate(input: {}1{}) {{ id }} }}", "[{a: ".repeat(depth), "}]".repeat(depth)),
                    2 * depth + 2,
                ),
                _ => (
                    format!("query Q($v: {}Int{} = {}1{}) {{ id }}", "[".repeat(depth), "]".repeat(depth), "[".repeat(depth), "]".repeat(depth)),
                    depth + 1,
                ),
            };
            let shape = std::thread::Builder::new()
                .stack_size(2 << 20)
                .spawn(move || inspect(&query, None))
                .expect("a thread")
                .join()
                .expect("no panic");
            consistent(shape)?;
            if brackets > MAX_NESTING {
                prop_assert_eq!(
                    shape,
                    Shape { kind: Kind::Unknown, roots: MAX_SELECTIONS, starts: 0, oversized: Some(Oversized::Nesting) }
                );
            }
        }

        /// Brackets inside strings, block strings and comments are not
        /// nesting: a prompt full of them is inspected like any other.
        #[test]
        fn brackets_in_strings_and_comments_do_not_count(
            prompt in r#"[\[\](){}a ]{0,400}"#,
            comment in r#"[\[\](){}"a ]{0,400}"#,
            block in any::<bool>(),
        ) {
            let literal = if block {
                format!("\"\"\"{}\"\"\"", prompt.replace('"', ""))
            } else {
                format!("\"{prompt}\"")
            };
            let query = format!("mutation {{ # {comment}\n generate(input: {{prompt: {literal}}}) {{ id }} }}");
            prop_assert_eq!(inspect(&query, None), Shape { kind: Kind::Mutation, roots: 1, starts: 1, oversized: None });
        }
    }

    proptest! {
        #![proptest_config(config(32))]

        /// Fragments that spread each other many times over (fan-out, cycles)
        /// cost bounded work, and the shape stays consistent: a document of
        /// a few kilobytes cannot make the host count billions of fields.
        #[test]
        fn fragment_fan_out_is_bounded(width in 1..400usize, leaf in prop::sample::select(vec!["__typename", "generate", "...F0"])) {
            let spreads = |to: &str| format!("...{to} ").repeat(width);
            let query = format!(
                "mutation {{ {} }} fragment F0 on T {{ {} }} fragment F1 on T {{ {} }} fragment F2 on T {{ {} }} fragment F3 on T {{ {} }}",
                spreads("F0"), spreads("F1"), spreads("F2"), spreads("F3"), format!("{leaf} ").repeat(width),
            );
            let started = std::time::Instant::now();
            let shape = inspect(&query, None);
            consistent(shape)?;
            prop_assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
        }
    }
}
