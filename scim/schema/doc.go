// Package schema checks converted users against the UPS v4 User schema.
//
// The schema is a set of JSON Schema (draft-07) documents under schemas/, one
// per SCIM schema the converter emits, composed by schemas/resource.json. Two
// validators read the same documents:
//
//   - Validate, the fast validator: at package initialisation it compiles the
//     documents into a tree of Nodes and then walks a *scim.User directly, as
//     the encoder (scim.User.AppendResource) would write it, without building
//     a generic JSON value. The compiler refuses any keyword it does not
//     implement, so a schema change cannot silently make it disagree with the
//     reference.
//   - ValidateJSON, the reference: gojsonschema over the composed documents,
//     used by the differential tests and for debugging.
//
// Validate also applies the rules a JSON schema cannot express (rules.go):
// login-ID characters, ISO country and currency codes, supported locales,
// date ranges, the ADP fields of ADP_PAYROLL users, primary approvers, one
// element per type.
//
// CheckPath and Lookup answer questions about attribute paths (package
// scimpath) for the mapping tables (package mapping checks every target with
// CheckPath), the planner and the docs. Nothing here has an init function.
package schema
