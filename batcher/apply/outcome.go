package apply

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"scimigrate/batcher"
	"scimigrate/batcher/client"
	"scimigrate/batcher/journal"
	"scimigrate/scim/scimpath"
)

// identityExt reports whether an extension belongs to the identity (core
// or enterprise User): when it fails, nothing else of the operation applied.
func identityExt(name string) bool {
	return name == scimpath.CoreUser || name == scimpath.EnterpriseUser
}

// retryableExt reports whether an extension may be re-sent alone: spend and
// travel extensions, per the UPS failure-handling guidance.
func retryableExt(name string) bool {
	return strings.HasPrefix(name, "urn:ietf:params:scim:schemas:extension:spend:2.0:") ||
		strings.HasPrefix(name, "urn:ietf:params:scim:schemas:extension:travel:2.0:")
}

func extSucceeded(s client.State) bool {
	switch s.Result {
	case "success", "no-op":
		return true
	case "error", "not-processed":
		return false
	}
	return s.Succeeded()
}

func messages(ms []client.Message) []journal.Message {
	if len(ms) == 0 {
		return nil
	}
	out := make([]journal.Message, len(ms))
	for i, m := range ms {
		out[i] = journal.Message{Code: m.Code, Message: m.Message, SchemaPath: m.SchemaPath, Type: m.Type}
	}
	return out
}

// outcome converts an operation's status into what the journal records,
// with the extension retries it calls for.
func (e *engine) outcome(op *journal.Op, st *client.OperationStatus) journal.Outcome {
	out := journal.Outcome{BulkID: op.BulkID, UUID: st.ResourceID(), HTTPCode: st.Status.Code.Int()}
	if out.UUID == "" && op.Kind != journal.KindOp {
		out.UUID = op.ParentUUID
	}
	identityFailed := false
	var transient []string
	var identMsg, opMsg, extMsg *journal.Message
	identCode, extCode := 0, 0
	if ms := messages(st.Messages); len(ms) > 0 {
		opMsg = &ms[0]
	}
	for _, x := range st.Extensions {
		ext := journal.Ext{Name: x.Name, Result: x.Status.Result, Success: extSucceeded(x.Status), HTTPCode: x.Status.Code.Int(), Messages: messages(x.Messages)}
		if ext.Result == "" {
			ext.Result = map[bool]string{true: "success", false: "error"}[ext.Success]
		}
		out.Extensions = append(out.Extensions, ext)
		if ext.Success {
			continue
		}
		m := journal.Message{Message: x.Name + ": " + ext.Result, SchemaPath: x.Name}
		if len(ext.Messages) > 0 {
			m = ext.Messages[0]
		}
		switch {
		case identityExt(x.Name):
			identityFailed = true
			if identMsg == nil {
				identMsg, identCode = &m, ext.HTTPCode
			}
		case extMsg == nil:
			extMsg, extCode = &m, ext.HTTPCode
		}
		if ext.HTTPCode >= 500 && retryableExt(x.Name) {
			transient = append(transient, x.Name)
		}
	}
	chosen := extMsg
	if opMsg != nil {
		chosen = opMsg
	}
	if identMsg != nil {
		chosen = identMsg
	}
	if chosen != nil {
		out.MsgCode, out.Message, out.SchemaPath = chosen.Code, chosen.Message, chosen.SchemaPath
	}
	if out.HTTPCode == 0 {
		out.HTTPCode = max(identCode, extCode)
	}
	opOK := st.Status.Succeeded() || out.HTTPCode == 207 || (out.HTTPCode >= 200 && out.HTTPCode < 300)
	applied := !identityFailed && (opOK || out.UUID != "")
	if !applied {
		out.State, out.Outcome = journal.StateFailed, journal.OutcomeFailed
		if out.Message == "" {
			out.Message = "the operation failed (HTTP " + strconv.Itoa(out.HTTPCode) + ")"
		}
		return out
	}
	out.State, out.Outcome = journal.StateDone, journal.OutcomeSuccess
	for _, x := range out.Extensions {
		if !x.Success {
			out.Outcome = journal.OutcomePartial
		}
	}
	if len(transient) > 0 && out.UUID != "" {
		if r, ok := e.retryFor(op, out.UUID, transient); ok {
			out.Retries = append(out.Retries, r)
		}
	}
	return out
}

// retryFor builds the PATCH re-sending the failed extensions' attributes
// from the operation's data, unless the retries are used up.
func (e *engine) retryFor(op *journal.Op, uuid string, exts []string) (journal.NewOp, bool) {
	root, n := op.BulkID, 0
	if op.Kind == journal.KindRetry {
		if i := strings.LastIndex(op.BulkID, "-retry"); i >= 0 {
			root = op.BulkID[:i]
			n, _ = strconv.Atoi(op.BulkID[i+len("-retry"):])
		}
	}
	if n >= e.o.MaxExtensionRetries {
		e.o.Logf("operation %s: extensions %s still fail after %d retries", root, strings.Join(exts, ", "), n)
		return journal.NewOp{}, false
	}
	data, err := extensionPatch(op.Data, exts)
	if err != nil || data == nil {
		return journal.NewOp{}, false
	}
	return journal.NewOp{BulkID: fmt.Sprintf("%s-retry%d", root, n+1), Method: "PATCH", Path: "/Users/" + uuid, Data: data}, true
}

type patchOp struct {
	Op    string          `json:"op"`
	Path  string          `json:"path,omitempty"`
	Value json.RawMessage `json:"value,omitempty"`
}

type patchMsg struct {
	Schemas    []string  `json:"schemas"`
	Operations []patchOp `json:"Operations"`
}

// extensionPatch returns a PatchOp carrying only the given extensions'
// attributes: from a User document, one path-less replace of each whole
// extension; from a PatchOp, its operations that touch those extensions.
func extensionPatch(data []byte, exts []string) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, err
	}
	want := map[string]bool{}
	for _, x := range exts {
		want[x] = true
	}
	var ops []patchOp
	if raw, ok := top["Operations"]; ok {
		var in []patchOp
		if err := json.Unmarshal(raw, &in); err != nil {
			return nil, err
		}
		for _, o := range in {
			if o.Path != "" {
				for x := range want {
					if o.Path == x || strings.HasPrefix(o.Path, x+":") || strings.HasPrefix(o.Path, x+".") {
						ops = append(ops, o)
						break
					}
				}
				continue
			}
			var val map[string]json.RawMessage
			if json.Unmarshal(o.Value, &val) != nil {
				continue
			}
			keep := map[string]json.RawMessage{}
			for k, v := range val {
				if want[k] {
					keep[k] = v
				}
			}
			if len(keep) > 0 {
				b, _ := json.Marshal(keep)
				ops = append(ops, patchOp{Op: o.Op, Value: b})
			}
		}
	} else {
		keep := map[string]json.RawMessage{}
		for k, v := range top {
			if want[k] {
				keep[k] = v
			}
		}
		if len(keep) > 0 {
			b, _ := json.Marshal(keep)
			ops = append(ops, patchOp{Op: "replace", Value: b})
		}
	}
	if len(ops) == 0 {
		return nil, nil
	}
	return json.Marshal(patchMsg{Schemas: []string{batcher.URNPatchOp}, Operations: ops})
}
