// Package upsim is an in-process simulator of the SAP Concur User
// Provisioning Service (UPS v4) and the endpoints a migration client needs
// around it: the OAuth2 token endpoint, SCIM Bulk with asynchronous provision
// status, Identity v4/v4.1 lookups and the spend/travel read endpoints.
//
// It behaves as the public documentation describes (202 + provisionId,
// per-operation and per-extension results, 413 above 100 operations or
// 400 KB, duplicate userName rejection, INVALID_USER for unknown approvers,
// SCIM PATCH paths with value filters) and can inject transport faults
// (429 with Retry-After, 502/503/504, slow answers, token expiry, and a Bulk
// that is accepted and processed but whose response is never delivered).
// Every random choice comes from Options.Seed so runs are reproducible.
//
// # Independence
//
// upsim is a room of its own, outside the batching stage, and it imports
// nothing of the project on purpose: it keeps its own SCIM filter parser,
// PATCH application and schema URNs, written from the UPS and RFC 7644 texts
// rather than shared with scim and scim/scimpath, so that it is a second,
// independent implementation the tests compare the client's behaviour
// against. A bug in the shared SCIM vocabulary therefore shows up as a
// disagreement instead of being hidden by the same code on both sides. The
// project's layout test (cmd/scimigrate TestImportsRunOneWay) keeps it so.
//
// Operations are processed lazily, in acceptance order (and, within a Bulk,
// in request order), at the start of any later request once their
// completion time has passed; the simulator runs no background goroutines.
//
// # Endpoints (relative to the base URL)
//
//	POST /oauth2/v0/token                       form; refresh_token or password+credtype=authtoken
//	POST /profile/v4/Bulk[/]                    202 Provision Status | 400 | 413 | 415
//	GET  /profile/v4/provisions/{id}/status[/]  ?attributes=operations&startIndex&count&state
//	GET  /profile/identity/v4/Users[/]          ?filter=<attr> eq "v" (userName, employeeNumber, externalId)
//	GET  /profile/identity/v4/Users/{id}
//	GET  /profile/identity/v4.1/Users[/]        ?count&cursor&attributes&excludedAttributes
//	POST /profile/identity/v4.1/Users/.search   {schemas, filter, attributes, count, cursor}
//	GET  /profile/identity/v4.1/Users/{id}
//	GET  /profile/spend/v4.1/Users/{id}
//	GET  /profile/travel/v4/Users/{id}
//
// Every endpoint but the token endpoint needs "Authorization: Bearer <token>".
// Synchronous errors use the SCIM error body with a string "status" and a
// urn:ietf:params:scim:api:messages:concur:2.0:Error messages[] list; the
// travel endpoint's 404 uses {"errorCode","errorMessage"}; injected 502/504
// have an HTML body.
//
// # Operation results
//
// Each operation lists every extension (core, enterprise, the spend ones,
// payroll, travel); untouched ones report result "no-op". Operation codes:
// 200 (204 for DELETE) success; 207 identity applied but an extension
// failed; otherwise the failing part's code: 400 (INVALID_VALUE,
// INVALID_INPUT, INVALID_PATH), 404 (NOT_FOUND for an unknown target,
// INVALID_USER for an unknown referenced employee), 409 (UNIQUENESS for a
// userName or employeeNumber in use). Only 200/204 count as success in
// operationsCount; 207 counts as failed.
package upsim
