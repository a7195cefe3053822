//! Seed-compatibility rewrite: bare selections of object-typed fields.
//!
//! # What this module owns
//!
//! One `async-graphql` [`Extension`], [`BareSelectionExpansion`], that rewrites
//! a parsed query document *before validation* so that an object-typed field
//! selected without a sub-selection becomes a valid selection of that type's
//! scalar and enum fields.
//!
//! # Why
//!
//! The client snippets published on the product page (which we must accept
//! verbatim) select object-typed fields bare, for example:
//!
//! ```graphql
//! mutation Generate($input: GenerateInput!) {
//!   generate(input: $input) { id status metadata creditCost error errorCode }
//! }
//! ```
//!
//! Here `metadata` is a `GenerationMetadata { width height duration format
//! resolution sizeBytes }` and `error` is a `GenerationError { code message }`.
//! Standard GraphQL rejects this ("Field "metadata" of type
//! "GenerationMetadata" must have a selection of subfields"). Other snippets
//! select the same fields properly (`metadata { duration resolution }`,
//! `error { code message }`); both shapes must work.
//!
//! # The rule
//!
//! For every field in the document (in queries, mutations and subscriptions,
//! in nested selections, in inline fragments — typed by their type condition
//! when present, by the enclosing type otherwise — and in fragment
//! definitions — typed by their type condition) whose selection set is empty
//! and whose named type, after stripping any `!` and `[]` wrappers, is an
//! object or interface type, the selection set is filled with one plain field
//! (no alias, arguments or directives) for each field of that type that
//!
//! * has a scalar or enum named type (again ignoring `!` and `[]`, so a
//!   `[String!]!` field is included),
//! * takes no required argument (an argument is required when its type is
//!   non-null and it has no default value),
//! * is not an introspection field (name starting with `__`), and
//! * has no visibility predicate (`#[graphql(visible = ...)]`), nor has its
//!   scalar or enum type: such a field is hidden from some or all clients,
//!   and the predicate cannot be evaluated before a request context exists,
//!   so it is never selected implicitly.
//!
//! Deprecated fields are still fields of the type and are included. The
//! sub-fields keep the schema's declaration order.
//!
//! Lists are treated like their element type: a bare `[Thing]` or
//! `[Thing!]!` selection gets `Thing`'s scalar and enum fields, applied to
//! every element. The expansion is one level deep: object-typed sub-fields of
//! the expanded type are not selected. The synthesised nodes carry the
//! position of the bare field, so any later error points at it. Expanded
//! fields count towards the schema's depth and complexity limits like fields
//! written by the client. Fragment spreads are not followed: every fragment
//! definition is rewritten once, typed by its own type condition.
//!
//! # What it must never do
//!
//! Change a selection that was already valid. A field with an empty selection
//! set and an object or interface type is always invalid GraphQL, so only
//! invalid selections are touched. Everything else — fields with a
//! sub-selection, leaf fields, union-typed fields, fields unknown to the
//! schema, fragments whose type condition is unknown, introspection fields,
//! and a bare object type with no eligible sub-field — is left exactly as
//! parsed, so validation reports the same errors it would without this
//! extension. The rewrite never panics on unknown types or fields.
//!
//! # Usage
//!
//! ```text
//! let schema = Schema::build(QueryRoot, MutationRoot, SubscriptionRoot)
//!     .extension(BareSelectionExpansion)
//!     .finish();
//! ```
//!
//! The rewrite runs in [`Extension::parse_query`]; extensions registered
//! *before* this one see the expanded document in their own `parse_query`
//! hook, those registered after it see the document as parsed.

use std::sync::Arc;

use async_graphql::{
    Name, Pos, Positioned, ServerResult, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery},
    parser::types::{
        DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType, Selection, SelectionSet,
    },
    registry::{MetaField, MetaType, Registry},
};

/// The bare-selection expansion extension (see the [module docs](self)).
///
/// It is both the [`ExtensionFactory`] and the [`Extension`] it creates, so the
/// schema owner registers it with
/// `Schema::build(..).extension(BareSelectionExpansion)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BareSelectionExpansion;

impl ExtensionFactory for BareSelectionExpansion {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(BareSelectionExpansion)
    }
}

#[async_graphql::async_trait::async_trait]
impl Extension for BareSelectionExpansion {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let mut document = next.run(ctx, query, variables).await?;
        expand_bare_selections(&ctx.schema_env.registry, &mut document);
        Ok(document)
    }
}

/// Applies the module's rule to `document` in place, using the types in
/// `registry`, and returns how many bare fields were expanded.
///
/// A document with no bare object- or interface-typed field is left untouched
/// (and `0` is returned).
pub fn expand_bare_selections(registry: &Registry, document: &mut ExecutableDocument) -> usize {
    let mut expanded = 0;
    match &mut document.operations {
        DocumentOperations::Single(operation) => {
            expand_operation(registry, &mut operation.node, &mut expanded);
        }
        DocumentOperations::Multiple(operations) => {
            for operation in operations.values_mut() {
                expand_operation(registry, &mut operation.node, &mut expanded);
            }
        }
    }
    for fragment in document.fragments.values_mut() {
        let fragment = &mut fragment.node;
        expand_selection_set(
            registry,
            fragment.type_condition.node.on.node.as_str(),
            &mut fragment.selection_set.node,
            &mut expanded,
        );
    }
    expanded
}

/// Expands the selection set of one operation, typed by its root type.
fn expand_operation(registry: &Registry, operation: &mut OperationDefinition, expanded: &mut usize) {
    let root = match operation.ty {
        OperationType::Query => Some(registry.query_type.as_str()),
        OperationType::Mutation => registry.mutation_type.as_deref(),
        OperationType::Subscription => registry.subscription_type.as_deref(),
    };
    if let Some(root) = root {
        expand_selection_set(registry, root, &mut operation.selection_set.node, expanded);
    }
}

/// Walks `set`, whose items are selected on the type named `parent`.
///
/// Unknown types, unknown fields and introspection fields are skipped (left
/// as they are) so validation reports them as usual.
fn expand_selection_set(registry: &Registry, parent: &str, set: &mut SelectionSet, expanded: &mut usize) {
    for item in &mut set.items {
        match &mut item.node {
            Selection::Field(field) => expand_field(registry, parent, field, expanded),
            Selection::InlineFragment(fragment) => {
                let fragment = &mut fragment.node;
                let on = fragment.type_condition.as_ref().map_or(parent, |condition| condition.node.on.node.as_str());
                expand_selection_set(registry, on, &mut fragment.selection_set.node, expanded);
            }
            // The spread fragment's definition is walked on its own, typed by
            // its type condition.
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// Expands `field` (selected on the type named `parent`) if it is a bare
/// object or interface selection, or walks its sub-selection otherwise.
fn expand_field(registry: &Registry, parent: &str, field: &mut Positioned<Field>, expanded: &mut usize) {
    let pos = field.pos;
    let field = &mut field.node;
    let name = field.name.node.as_str();
    if is_introspection(name) {
        return;
    }
    let Some(meta_field) = registry.concrete_type_by_name(parent).and_then(|parent| parent.field_by_name(name)) else {
        return;
    };
    let Some(field_type) = registry.concrete_type_by_name(&meta_field.ty) else {
        return;
    };

    let selection_set = &mut field.selection_set.node;
    if !selection_set.items.is_empty() {
        expand_selection_set(registry, field_type.name(), selection_set, expanded);
        return;
    }
    if !matches!(field_type, MetaType::Object { .. } | MetaType::Interface { .. }) {
        return;
    }
    let Some(fields) = field_type.fields() else {
        return;
    };
    let items: Vec<_> = fields
        .values()
        .filter(|sub| is_implicitly_selectable(registry, sub))
        .map(|sub| leaf_selection(&sub.name, pos))
        .collect();
    if !items.is_empty() {
        selection_set.items = items;
        *expanded += 1;
    }
}

/// Whether `field` is selected by a bare selection of its parent type: a
/// scalar or enum field (through any `!`/`[]` wrappers), without required
/// arguments, not introspection, and with no visibility predicate on the
/// field or its type.
fn is_implicitly_selectable(registry: &Registry, field: &MetaField) -> bool {
    !is_introspection(&field.name)
        && field.visible.is_none()
        && field.args.values().all(|arg| !arg.ty.ends_with('!') || arg.default_value.is_some())
        && registry.concrete_type_by_name(&field.ty).is_some_and(|ty| {
            matches!(ty, MetaType::Scalar { visible: None, .. } | MetaType::Enum { visible: None, .. })
        })
}

/// Whether `name` is an introspection field such as `__typename`.
fn is_introspection(name: &str) -> bool {
    name.starts_with("__")
}

/// A plain `name` field selection (no alias, arguments, directives or
/// sub-selection) positioned at `pos`.
fn leaf_selection(name: &str, pos: Pos) -> Positioned<Selection> {
    Positioned::new(
        Selection::Field(Positioned::new(
            Field {
                alias: None,
                name: Positioned::new(Name::new(name), pos),
                arguments: vec![],
                directives: vec![],
                selection_set: Positioned::new(SelectionSet::default(), pos),
            },
            pos,
        )),
        pos,
    )
}

#[cfg(test)]
mod tests {
    use async_graphql::{
        ComplexObject, EmptySubscription, Enum, ID, InputObject, Interface, Object, Request, Response, Schema,
        SimpleObject, Subscription, Union, Value, Variables, parser::parse_query, value,
    };
    use futures::{Stream, StreamExt, stream};

    use super::*;

    #[derive(Enum, Copy, Clone, Eq, PartialEq)]
    enum GenerationStatus {
        Queued,
        Succeeded,
    }

    #[derive(Enum, Copy, Clone, Eq, PartialEq)]
    enum MediaFormat {
        #[graphql(name = "MP4")]
        Mp4,
    }

    #[derive(SimpleObject, Clone)]
    struct CodecProfile {
        level: i32,
        tier: String,
    }

    #[derive(SimpleObject, Clone)]
    struct Codec {
        name: String,
        profile: CodecProfile,
    }

    /// Only object-typed fields: a bare selection has nothing to expand to.
    #[derive(SimpleObject, Clone)]
    struct Source {
        codec: Codec,
    }

    #[derive(SimpleObject, Clone)]
    #[graphql(complex)]
    struct GenerationMetadata {
        width: i32,
        height: i32,
        duration: Option<f64>,
        format: MediaFormat,
        resolution: String,
        size_bytes: i64,
        tags: Vec<String>,
        codec: Codec,
        source: Source,
        #[graphql(visible = false)]
        internal_cost: i32,
    }

    #[ComplexObject]
    impl GenerationMetadata {
        /// Required argument: never selected implicitly.
        async fn thumbnail_url(&self, size: i32) -> String {
            format!("https://cdn.example/{size}.png")
        }

        /// Optional argument: selected implicitly, without arguments.
        async fn label(&self, prefix: Option<String>) -> String {
            format!("{}{}x{}", prefix.unwrap_or_default(), self.width, self.height)
        }

        /// Non-null argument with a default: selected implicitly.
        async fn scaled_width(&self, #[graphql(default = 2)] factor: i32) -> i32 {
            self.width * factor
        }
    }

    #[derive(SimpleObject, Clone)]
    struct GenerationError {
        code: String,
        message: String,
    }

    #[derive(SimpleObject, Clone)]
    struct Asset {
        url: String,
        bytes: i32,
    }

    #[derive(SimpleObject, Clone)]
    struct Generation {
        id: ID,
        status: GenerationStatus,
        metadata: Option<GenerationMetadata>,
        credit_cost: i32,
        error: Option<GenerationError>,
        error_code: Option<String>,
        assets: Vec<Asset>,
    }

    #[derive(Interface)]
    #[graphql(field(name = "id", ty = "&ID"))]
    enum Node {
        Generation(Generation),
    }

    #[derive(Union)]
    #[allow(clippy::large_enum_variant)] // test fixture; size is irrelevant
    enum Outcome {
        Generation(Generation),
        Error(GenerationError),
    }

    #[derive(InputObject)]
    struct GenerateInput {
        prompt: String,
    }

    fn sample(id: &str) -> Generation {
        let codec = Codec { name: "h264".into(), profile: CodecProfile { level: 41, tier: "main".into() } };
        Generation {
            id: ID::from(id),
            status: GenerationStatus::Succeeded,
            metadata: Some(GenerationMetadata {
                width: 1920,
                height: 1080,
                duration: Some(4.5),
                format: MediaFormat::Mp4,
                resolution: "1080p".into(),
                size_bytes: 1_048_576,
                tags: vec!["hd".into()],
                codec: codec.clone(),
                source: Source { codec },
                internal_cost: 7,
            }),
            credit_cost: 3,
            error: Some(GenerationError { code: "NSFW".into(), message: "blocked".into() }),
            error_code: Some("NSFW".into()),
            assets: vec![Asset { url: "a".into(), bytes: 1 }, Asset { url: "b".into(), bytes: 2 }],
        }
    }

    struct QueryRoot;

    #[Object]
    impl QueryRoot {
        async fn generation(&self, id: ID) -> Option<Generation> {
            Some(sample(&id))
        }

        async fn node(&self, id: ID) -> Node {
            Node::Generation(sample(&id))
        }

        async fn outcome(&self) -> Outcome {
            Outcome::Generation(sample("o"))
        }
    }

    struct MutationRoot;

    #[Object]
    impl MutationRoot {
        async fn generate(&self, input: GenerateInput) -> Generation {
            sample(&format!("gen-{}", input.prompt))
        }
    }

    struct SubscriptionRoot;

    #[Subscription]
    impl SubscriptionRoot {
        async fn generation_updates(&self) -> impl Stream<Item = Generation> {
            stream::once(async { sample("sub") })
        }
    }

    type TestSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

    fn schema() -> TestSchema {
        Schema::build(QueryRoot, MutationRoot, SubscriptionRoot).extension(BareSelectionExpansion).finish()
    }

    fn full_metadata() -> Value {
        value!({
            "width": 1920,
            "height": 1080,
            "duration": 4.5,
            "format": "MP4",
            "resolution": "1080p",
            "sizeBytes": 1_048_576,
            "tags": ["hd"],
            "label": "1920x1080",
            "scaledWidth": 3840,
        })
    }

    fn full_error() -> Value {
        value!({ "code": "NSFW", "message": "blocked" })
    }

    /// JSON form of a response value (enum values become strings).
    fn json(value: Value) -> impl PartialEq + std::fmt::Debug {
        value.into_json().expect("representable as JSON")
    }

    async fn run(request: impl Into<Request>) -> Response {
        schema().execute(request).await
    }

    async fn data(request: impl Into<Request>) -> Value {
        let response = run(request).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        response.data
    }

    /// Object keys in response order, to check nothing extra was selected.
    fn keys(value: &Value) -> Vec<String> {
        match value {
            Value::Object(map) => map.keys().map(|k| k.to_string()).collect(),
            other => panic!("not an object: {other:?}"),
        }
    }

    #[tokio::test]
    async fn bare_object_fields_return_all_scalar_and_enum_sub_fields() {
        let data = data(r#"{ generation(id: "g1") { id status metadata creditCost error errorCode } }"#).await;
        assert_eq!(
            json(data.clone()),
            json(value!({
                "generation": {
                    "id": "g1",
                    "status": "SUCCEEDED",
                    "metadata": full_metadata(),
                    "creditCost": 3,
                    "error": full_error(),
                    "errorCode": "NSFW",
                }
            }))
        );
        let Value::Object(root) = &data else { unreachable!() };
        let Value::Object(generation) = &root["generation"] else { unreachable!() };
        // Registry order; no `thumbnailUrl` (required argument), no `codec`
        // (object), no `internalCost` (visibility predicate).
        assert_eq!(
            keys(&generation["metadata"]),
            ["width", "height", "duration", "format", "resolution", "sizeBytes", "tags", "label", "scaledWidth"]
        );
    }

    #[tokio::test]
    async fn explicit_sub_selections_return_only_what_was_asked() {
        let data =
            data(r#"{ generation(id: "g1") { metadata { duration resolution } error { code message } } }"#).await;
        assert_eq!(
            json(data),
            json(value!({
                "generation": {
                    "metadata": { "duration": 4.5, "resolution": "1080p" },
                    "error": full_error(),
                }
            }))
        );
    }

    #[tokio::test]
    async fn nested_objects_expand_one_level_and_recurse_into_sub_selections() {
        let data = data(
            r#"{ generation(id: "g1") {
                metadata { width codec }
                m2: metadata { codec { name profile } }
            } }"#,
        )
        .await;
        assert_eq!(
            json(data),
            json(value!({
                "generation": {
                    "metadata": { "width": 1920, "codec": { "name": "h264" } },
                    "m2": { "codec": { "name": "h264", "profile": { "level": 41, "tier": "main" } } },
                }
            }))
        );
    }

    #[tokio::test]
    async fn bare_list_of_objects_selects_element_scalars() {
        let data = data(r#"{ generation(id: "g1") { assets } }"#).await;
        assert_eq!(
            json(data),
            json(value!({
                "generation": {
                    "assets": [ { "url": "a", "bytes": 1 }, { "url": "b", "bytes": 2 } ]
                }
            }))
        );
    }

    #[tokio::test]
    async fn bare_interface_field_selects_interface_scalars() {
        let data = data(r#"{ node(id: "n1") }"#).await;
        assert_eq!(json(data), json(value!({ "node": { "id": "n1" } })));
    }

    #[tokio::test]
    async fn bare_selections_in_named_fragment() {
        let data = data(
            r#"query Q { generation(id: "g1") { ...Gen } }
               fragment Gen on Generation { id metadata error }"#,
        )
        .await;
        assert_eq!(
            json(data),
            json(value!({
                "generation": { "id": "g1", "metadata": full_metadata(), "error": full_error() }
            }))
        );
    }

    #[tokio::test]
    async fn bare_selections_in_inline_fragments() {
        let data = data(
            r#"{
                node(id: "n1") { ... on Generation { metadata } }
                generation(id: "g1") { ... { error } ... @include(if: true) { id } }
                outcome { ... on Generation { error } ... on GenerationError { code } }
            }"#,
        )
        .await;
        assert_eq!(
            json(data),
            json(value!({
                "node": { "metadata": full_metadata() },
                "generation": { "error": full_error(), "id": "g1" },
                "outcome": { "error": full_error() },
            }))
        );
    }

    #[tokio::test]
    async fn bare_selections_in_mutation_with_variables() {
        let request = Request::new(
            r#"mutation Generate($input: GenerateInput!) {
                generate(input: $input) { id status metadata creditCost error errorCode }
            }"#,
        )
        .variables(Variables::from_value(value!({ "input": { "prompt": "cat" } })));
        let data = data(request).await;
        assert_eq!(
            json(data),
            json(value!({
                "generate": {
                    "id": "gen-cat",
                    "status": "SUCCEEDED",
                    "metadata": full_metadata(),
                    "creditCost": 3,
                    "error": full_error(),
                    "errorCode": "NSFW",
                }
            }))
        );
    }

    #[tokio::test]
    async fn bare_selections_in_subscription() {
        let mut responses = schema().execute_stream("subscription { generationUpdates { id metadata error } }");
        let response = responses.next().await.expect("one response");
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        assert_eq!(
            json(response.data),
            json(value!({
                "generationUpdates": {
                    "id": "sub",
                    "metadata": full_metadata(),
                    "error": full_error(),
                }
            }))
        );
        assert!(responses.next().await.is_none());
    }

    #[tokio::test]
    async fn unknown_field_is_still_a_validation_error() {
        for query in [
            r#"{ generation(id: "g1") { id nope } }"#,
            r#"{ generation(id: "g1") { nope { id } metadata } }"#,
            r#"{ generation(id: "g1") { ... on Nope { metadata } } }"#,
            r#"{ nope }"#,
        ] {
            let response = run(query).await;
            assert!(
                response
                    .errors
                    .iter()
                    .any(|e| e.message.contains("Unknown field") || e.message.contains("Unknown type")),
                "{query}: {:?}",
                response.errors
            );
        }
    }

    #[tokio::test]
    async fn bare_union_and_leafless_object_stay_invalid() {
        for query in ["{ outcome }", r#"{ generation(id: "g1") { metadata { source } } }"#] {
            let response = run(query).await;
            assert!(
                response.errors.iter().any(|e| e.message.contains("must have a selection of subfields")),
                "{query}: {:?}",
                response.errors
            );
        }
    }

    #[tokio::test]
    async fn schema_without_mutation_ignores_mutation_operations() {
        let schema = Schema::build(QueryRoot, async_graphql::EmptyMutation, EmptySubscription)
            .extension(BareSelectionExpansion)
            .finish();
        let response = schema.execute("mutation { generate { id } }").await;
        assert!(!response.errors.is_empty());
        let response = schema.execute(r#"{ generation(id: "x") { error } }"#).await;
        assert_eq!(json(response.data), json(value!({ "generation": { "error": full_error() } })));
    }

    /// Result of running [`expand_bare_selections`] on a copy of a parsed
    /// document: (expanded count, document before, document after).
    type Probed = (usize, ExecutableDocument, ExecutableDocument);

    /// Test-only extension giving [`expand_bare_selections`] the real
    /// registry (`Schema` does not expose it) and recording its effect.
    #[derive(Clone, Default)]
    struct Probe(Arc<std::sync::Mutex<Option<Probed>>>);

    impl ExtensionFactory for Probe {
        fn create(&self) -> Arc<dyn Extension> {
            Arc::new(self.clone())
        }
    }

    #[async_graphql::async_trait::async_trait]
    impl Extension for Probe {
        async fn parse_query(
            &self,
            ctx: &ExtensionContext<'_>,
            query: &str,
            variables: &Variables,
            next: NextParseQuery<'_>,
        ) -> ServerResult<ExecutableDocument> {
            let document = next.run(ctx, query, variables).await?;
            let mut after = document.clone();
            let count = expand_bare_selections(&ctx.schema_env.registry, &mut after);
            *self.0.lock().unwrap() = Some((count, document.clone(), after));
            Ok(document)
        }
    }

    async fn probe(query: &str) -> Probed {
        let probe = Probe::default();
        let schema = Schema::build(QueryRoot, MutationRoot, SubscriptionRoot).extension(probe.clone()).finish();
        let _ = schema.execute(query).await;
        probe.0.lock().unwrap().take().expect("parse_query ran")
    }

    #[tokio::test]
    async fn valid_documents_are_left_untouched() {
        let (count, before, after) = probe(
            r#"
            query A($id: ID!) {
                generation(id: $id) { id metadata { duration resolution } ...Gen __typename }
                node(id: $id) { id ... on Generation { error { code } } }
                __schema { queryType { name } }
            }
            mutation B { generate(input: { prompt: "x" }) { status assets { url } } }
            subscription C { generationUpdates { id } }
            fragment Gen on Generation { error { message } }
            "#,
        )
        .await;
        assert_eq!(count, 0);
        assert_eq!(format!("{after:?}"), format!("{before:?}"));
    }

    #[tokio::test]
    async fn expansion_counts_and_positions() {
        let (count, _, document) = probe(r#"{ generation(id: "g") { metadata e: error __typename } }"#).await;
        assert_eq!(count, 2);
        let DocumentOperations::Single(operation) = &document.operations else { panic!("single operation") };
        let Selection::Field(generation) = &operation.node.selection_set.node.items[0].node else { panic!("field") };
        let Selection::Field(error) = &generation.node.selection_set.node.items[1].node else { panic!("field") };
        assert_eq!(error.node.alias.as_ref().map(|a| a.node.as_str()), Some("e"));
        let names: Vec<_> = error
            .node
            .selection_set
            .node
            .items
            .iter()
            .map(|item| match &item.node {
                Selection::Field(field) => {
                    assert_eq!(field.pos, error.pos);
                    assert!(field.node.arguments.is_empty() && field.node.alias.is_none());
                    field.node.name.node.to_string()
                }
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(names, ["code", "message"]);
    }

    #[test]
    fn parser_distinguishes_nothing_from_an_empty_selection() {
        // `{}` is a syntax error, so an empty selection set always means the
        // field was written bare.
        assert!(parse_query("{ generation(id: \"g\") { metadata {} } }").is_err());
    }
}
