// Package batcher turns the converter's per-employee operations into SCIM Bulk
// requests for the SAP Concur User Provisioning Service (UPS v4).
//
// It owns four concerns that need no network:
//
//   - the Operation type the converter hands over, and BulkID, the
//     deterministic bulkId derived from an operation's source record;
//   - references between employees (Refs, SplitReferences): approvers,
//     delegates, enterprise and travel managers and the BI manager all name
//     other employees by employeeNumber;
//   - ordering (Dependencies): an operation that references an employee created
//     in the same run waits until that creation has completed; reference
//     cycles are broken by creating identities without their references and
//     adding the references afterwards with a PATCH (SplitOperation);
//   - scheduling (Order): the one scheduler of every apply path (a saved
//     plan, a live plan, --create-only): dependency waves, cycle splitting
//     and packing, so a plan shows what is sent;
//   - packing (Pack, Builder): at most Limits.MaxOps operations and
//     Limits.MaxBytes bytes per BulkRequest, measured on the exact bytes that
//     are sent (WireSize: a reference patch counts the id its path gets).
//
// The planner (desired users against a snapshot or the live target) lives in
// batcher/plan, the HTTP client in batcher/client, the SQLite journal in
// batcher/journal and the submission engine in batcher/apply.
package batcher
