package plan

import (
	"encoding/json"
	"strings"
	"testing"

	"scimigrate/batcher"
	"scimigrate/scim"
	"scimigrate/scim/scimpath"
	"scimigrate/upsim"
)

func decode(t *testing.T, s string) scim.Value {
	t.Helper()
	v, err := scim.Decode([]byte(s))
	if err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	return v
}

const (
	sp  = "urn:ietf:params:scim:schemas:extension:spend:2.0:User"
	ent = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	rol = "urn:ietf:params:scim:schemas:extension:spend:2.0:Role"
	apr = "urn:ietf:params:scim:schemas:extension:spend:2.0:Approver"
	dlg = "urn:ietf:params:scim:schemas:extension:spend:2.0:Delegate"
	trv = "urn:ietf:params:scim:schemas:extension:travel:2.0:User"
)

// TestPatchPathForms: for every PATCH path form the differ produces, the
// generated operations applied to the current user (scim.ApplyPatch)
// yield exactly the expected user, and planning again finds nothing to do.
func TestPatchPathForms(t *testing.T) {
	cases := []struct {
		name          string
		cur, des      string
		absent        []string
		ops, want     string // ops: "op path" lines
		allSupplied   bool
		entitlementsK bool
	}{{
		name: "core single values",
		cur:  `{"userName":"a@x.com","active":true,"title":"T"}`,
		des:  `{"userName":"b@x.com","active":false,"title":"T","nickName":"N"}`,
		ops:  "replace userName\nreplace active\nreplace nickName",
		want: `{"userName":"b@x.com","active":false,"title":"T","nickName":"N"}`,
	}, {
		name: "complex sub-attributes",
		cur:  `{"name":{"givenName":"Chris","familyName":"Doe","formatted":"Chris Doe"}}`,
		des:  `{"name":{"givenName":"Christopher","middleName":"J","familyName":"Doe"}}`,
		ops:  "replace name.givenName\nreplace name.middleName",
		want: `{"name":{"givenName":"Christopher","familyName":"Doe","formatted":"Chris Doe","middleName":"J"}}`,
	}, {
		name: "emails by type: change, add; others untouched",
		cur:  `{"emails":[{"type":"work","value":"a@x.com","primary":true},{"type":"other","value":"o@x.com"}]}`,
		des:  `{"emails":[{"type":"work","value":"b@x.com"},{"type":"home","value":"h@x.com"}]}`,
		ops:  "replace emails[type eq \"work\"].value\nadd emails",
		want: `{"emails":[{"type":"work","value":"b@x.com","primary":true},{"type":"other","value":"o@x.com"},{"type":"home","value":"h@x.com"}]}`,
	}, {
		name: "phones and addresses by type",
		cur:  `{"phoneNumbers":[{"type":"work","value":"1"}],"addresses":[{"type":"home","locality":"A","country":"US"}]}`,
		des:  `{"phoneNumbers":[{"type":"work","value":"1","workExtension":"42"}],"addresses":[{"type":"home","locality":"B"}]}`,
		ops:  "replace phoneNumbers[type eq \"work\"].workExtension\nreplace addresses[type eq \"home\"].locality",
		want: `{"phoneNumbers":[{"type":"work","value":"1","workExtension":"42"}],"addresses":[{"type":"home","locality":"B","country":"US"}]}`,
	}, {
		// UPS allows several mobile numbers: phoneNumbers[type eq "mobile"]
		// would change both.
		name: "a key that is not unique in the target is narrowed by value, or the entry added",
		cur:  `{"phoneNumbers":[{"type":"mobile","value":"+1 1","primary":true},{"type":"mobile","value":"+1 2"}]}`,
		des:  `{"phoneNumbers":[{"type":"mobile","value":"+1 2","notifications":true},{"type":"mobile","value":"+1 3"}]}`,
		ops:  "replace phoneNumbers[type eq \"mobile\" and value eq \"+1 2\"].notifications\nadd phoneNumbers",
		want: `{"phoneNumbers":[{"type":"mobile","value":"+1 1","primary":true},{"type":"mobile","value":"+1 2","notifications":true},{"type":"mobile","value":"+1 3"}]}`,
	}, {
		name: "extension attribute and customData by id",
		cur:  `{"` + sp + `":{"locale":"en-US","customData":[{"id":"custom1","value":"A"},{"id":"custom3","value":"C"}]}}`,
		des:  `{"` + sp + `":{"locale":"fr-FR","customData":[{"id":"custom1","value":"B"},{"id":"custom2","value":"N"}]}}`,
		ops:  "replace " + sp + ":locale\nreplace " + sp + `:customData[id eq "custom1"].value` + "\nadd " + sp + ":customData",
		want: `{"` + sp + `":{"locale":"fr-FR","customData":[{"id":"custom1","value":"B"},{"id":"custom3","value":"C"},{"id":"custom2","value":"N"}]}}`,
	}, {
		name:   "roles by roleName: add, remove asserted absent, keep the target's groups",
		cur:    `{"` + rol + `":{"roles":[{"roleName":"EXP_APPROVER","roleGroups":["G1"]},{"roleName":"INV_APPROVER","roleGroups":[]}]}}`,
		des:    `{"` + rol + `":{"roles":[{"roleName":"EXP_APPROVER"},{"roleName":"EXP_PROCESSOR","roleGroups":[]}]}}`,
		absent: []string{rol + `:roles[roleName eq "INV_APPROVER"]`, rol + `:roles[roleName eq "NOT_HELD"]`},
		ops:    "add " + rol + ":roles\nremove " + rol + `:roles[roleName eq "INV_APPROVER"]`,
		want:   `{"` + rol + `":{"roles":[{"roleName":"EXP_APPROVER","roleGroups":["G1"]},{"roleName":"EXP_PROCESSOR","roleGroups":[]}]}}`,
	}, {
		name: "approvers by kind and approver.employeeNumber: a new primary replaces the old one",
		cur:  `{"` + apr + `":{"report":[{"primary":true,"approver":{"employeeNumber":"1","value":"u1"}}],"invoice":[{"primary":true,"approver":{"employeeNumber":"9"}}]}}`,
		des:  `{"` + apr + `":{"report":[{"primary":true,"approver":{"employeeNumber":"2"}},{"primary":false,"approver":{"employeeNumber":"3"}}],"cashAdvance":[{"primary":true,"approver":{"employeeNumber":"4"}}]}}`,
		ops:  "remove " + apr + `:report[approver.employeeNumber eq "1"]` + "\nadd " + apr + ":report\nadd " + apr + ":report\nadd " + apr + ":cashAdvance",
		want: `{"` + apr + `":{"report":[{"primary":false,"approver":{"employeeNumber":"3"}},{"primary":true,"approver":{"employeeNumber":"2"}}],"invoice":[{"primary":true,"approver":{"employeeNumber":"9"}}],"cashAdvance":[{"primary":true,"approver":{"employeeNumber":"4"}}]}}`,
	}, {
		// Keyed by primary, both non-primary approvers matched
		// report[primary eq false]: the second overwrote the first.
		name: "two non-primary approvers are changed each by its own key",
		cur:  `{"` + apr + `":{"report":[{"primary":true,"approver":{"employeeNumber":"1"}},{"primary":false,"approver":{"employeeNumber":"2"}},{"primary":false,"approver":{"employeeNumber":"3"}}]}}`,
		des:  `{"` + apr + `":{"report":[{"primary":true,"approver":{"employeeNumber":"1"}},{"primary":false,"approver":{"employeeNumber":"2"}},{"primary":false,"approver":{"employeeNumber":"3"}},{"primary":false,"approver":{"employeeNumber":"5"}}],"request":[{"primary":false,"approver":{"employeeNumber":"2"}},{"primary":false,"approver":{"employeeNumber":"3"}}]}}`,
		ops:  "add " + apr + ":report\nadd " + apr + ":request\nadd " + apr + ":request",
		want: `{"` + apr + `":{"report":[{"primary":true,"approver":{"employeeNumber":"1"}},{"primary":false,"approver":{"employeeNumber":"2"}},{"primary":false,"approver":{"employeeNumber":"3"}},{"primary":false,"approver":{"employeeNumber":"5"}}],"request":[{"primary":false,"approver":{"employeeNumber":"2"}},{"primary":false,"approver":{"employeeNumber":"3"}}]}}`,
	}, {
		name: "a non-primary approver becomes primary",
		cur:  `{"` + apr + `":{"report":[{"primary":true,"approver":{"employeeNumber":"1"}},{"primary":false,"approver":{"employeeNumber":"2"}}]}}`,
		des:  `{"` + apr + `":{"report":[{"primary":true,"approver":{"employeeNumber":"2"}}]}}`,
		ops:  "remove " + apr + `:report[approver.employeeNumber eq "1"]` + "\nreplace " + apr + `:report[approver.employeeNumber eq "2"].primary`,
		want: `{"` + apr + `":{"report":[{"primary":true,"approver":{"employeeNumber":"2"}}]}}`,
	}, {
		name: "an absent spend extension is added whole (its required attributes together)",
		cur:  `{"userName":"a@x.com"}`,
		des:  `{"` + sp + `":{"reimbursementCurrency":"EUR","country":"DE","locale":"de-DE","ledgerCode":"L1"}}`,
		ops:  "add ",
		want: `{"userName":"a@x.com","` + sp + `":{"reimbursementCurrency":"EUR","country":"DE","locale":"de-DE","ledgerCode":"L1"}}`,
	}, {
		name: "delegates by product and delegate",
		cur:  `{"` + dlg + `":{"expense":[{"delegate":{"employeeNumber":"7","value":"u7"},"canApprove":false,"canSubmit":true},{"delegate":{"employeeNumber":"8"},"canApprove":true}]}}`,
		des:  `{"` + dlg + `":{"expense":[{"delegate":{"employeeNumber":"7"},"canApprove":true,"canSubmit":true},{"delegate":{"employeeNumber":"8"},"temporaryDelegation":{"temporaryDelegationFromDate":"2026-12-01T00:00:00.000Z"}}],"payment":[{"delegate":{"employeeNumber":"7"},"canPrepare":true}]}}`,
		ops:  "replace " + dlg + `:expense[delegate.employeeNumber eq "7"].canApprove` + "\nreplace " + dlg + `:expense[delegate.employeeNumber eq "8"]` + "\nadd " + dlg + ":payment",
		want: `{"` + dlg + `":{"expense":[{"delegate":{"employeeNumber":"7","value":"u7"},"canApprove":true,"canSubmit":true},{"delegate":{"employeeNumber":"8"},"canApprove":true,"temporaryDelegation":{"temporaryDelegationFromDate":"2026-12-01T00:00:00.000Z"}}],"payment":[{"delegate":{"employeeNumber":"7"},"canPrepare":true}]}}`,
	}, {
		name:          "entitlements by value",
		cur:           `{"entitlements":["Expense","Invoice"]}`,
		des:           `{"entitlements":["Expense","Travel"]}`,
		absent:        []string{`entitlements[value eq "Invoice"]`},
		entitlementsK: true,
		ops:           "add entitlements\nremove entitlements[value eq \"Invoice\"]",
		want:          `{"entitlements":["Expense","Travel"]}`,
	}, {
		name: "references: manager and biManager replaced whole (no stale value)",
		cur:  `{"` + ent + `":{"employeeNumber":"1","manager":{"value":"u5","employeeNumber":"5"}},"` + sp + `":{"biManager":{"employeeNumber":"6"}}}`,
		des:  `{"` + ent + `":{"employeeNumber":"1","manager":{"employeeNumber":"9"}},"` + sp + `":{"biManager":{"employeeNumber":"8"}}}`,
		ops:  "remove " + ent + ":manager\nreplace " + ent + ":manager\nreplace " + sp + ":biManager",
		want: `{"` + ent + `":{"employeeNumber":"1","manager":{"employeeNumber":"9"}},"` + sp + `":{"biManager":{"employeeNumber":"8"}}}`,
	}, {
		name: "travel: an absent extension is added whole with its rule class",
		cur:  `{"userName":"a@x.com"}`,
		des:  `{"` + trv + `":{"ruleClass":{"name":"Default"},"customFields":[{"name":"Canary ID","value":"T-1"}]}}`,
		ops:  "add ",
		want: `{"userName":"a@x.com","` + trv + `":{"ruleClass":{"name":"Default"},"customFields":[{"name":"Canary ID","value":"T-1"}]}}`,
	}, {
		name: "a list without a key is owned whole by the input",
		cur:  `{"` + trv + `":{"groups":["a","b"],"ruleClass":{"id":"7","name":"Default"}}}`,
		des:  `{"` + trv + `":{"groups":["c"],"ruleClass":{"name":"Default"}}}`,
		ops:  "replace " + trv + ":groups",
		want: `{"` + trv + `":{"groups":["c"],"ruleClass":{"id":"7","name":"Default"}}}`,
	}, {
		name: "equal values and date-times written differently give nothing",
		cur:  `{"userName":"a@x.com","` + dlg + `":{"expense":[{"delegate":{"employeeNumber":"7"},"temporaryDelegation":{"temporaryDelegationFromDate":"2026-12-01T00:00:00Z"}}]}}`,
		des:  `{"userName":"a@x.com","` + dlg + `":{"expense":[{"delegate":{"employeeNumber":"7"},"temporaryDelegation":{"temporaryDelegationFromDate":"2026-12-01T00:00:00.000Z"}}]}}`,
		ops:  "",
		want: `{"userName":"a@x.com","` + dlg + `":{"expense":[{"delegate":{"employeeNumber":"7"},"temporaryDelegation":{"temporaryDelegationFromDate":"2026-12-01T00:00:00Z"}}]}}`,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cur, des := decode(t, c.cur), decode(t, c.des)
			u := &scim.User{Doc: *des.Obj}
			for _, a := range c.absent {
				u.Absent = append(u.Absent, scim.Membership{Path: scimpath.MustParse(a)})
			}
			du := &DesiredUser{User: u}
			changes := diffAll(cur, du, c.entitlementsK)
			var got []string
			var wire []scim.PatchOperation
			for _, ch := range changes {
				for _, op := range ch.Ops {
					got = append(got, op.Op+" "+op.Path)
					wire = append(wire, op)
				}
			}
			if strings.Join(got, "\n") != c.ops {
				t.Errorf("operations:\n%s\nwant:\n%s", strings.Join(got, "\n"), c.ops)
			}
			res, err := scim.ApplyPatch(cur, wire)
			if err != nil {
				t.Fatal(err)
			}
			strictApply(t, cur, wire)
			if len(wire) > 0 {
				simulated := simApply(t, cur, wire)
				if want := normalize(decode(t, c.want)); !scim.Equal(simulated, want) {
					t.Errorf("on the simulator:\n%s\nwant:\n%s", scim.AppendJSON(nil, simulated), scim.AppendJSON(nil, want))
				}
			}
			if want := decode(t, c.want); !scim.Equal(res, want) {
				t.Errorf("result:\n%s\nwant:\n%s", scim.AppendJSON(nil, res), c.want)
			}
			// Round trip through the wire format, then plan again: nothing left.
			back, err := scim.DecodePatchOp(scim.AppendPatchOp(nil, wire))
			if err != nil || len(back) != len(wire) {
				t.Fatalf("PatchOp round trip: %v", err)
			}
			if again := diffAll(res, du, true); len(again) != 0 {
				t.Errorf("planning again after the patch: %d changes, first %s", len(again), again[0].Path)
			}
		})
	}
}

// requiredAttrs are the attributes UPS requires of an extension whenever it
// is present.
var requiredAttrs = map[string][]string{
	sp:  {"reimbursementCurrency", "country", "locale"},
	trv: {"ruleClass"},
}

// strictApply applies the operations one at a time, as a strict RFC 7644
// server does, and checks after each that every extension holds its
// required attributes (SCIMMY refuses the operation otherwise): all of them
// for an extension the user did not have, those it had for the others.
func strictApply(t *testing.T, doc scim.Value, ops []scim.PatchOperation) {
	t.Helper()
	had := map[string]bool{}
	for urn, attrs := range requiredAttrs {
		ext, ok := doc.Obj.Get(urn)
		for _, a := range attrs {
			if !ok {
				had[urn+":"+a] = true
			} else if _, ok := ext.Obj.Get(a); ok {
				had[urn+":"+a] = true
			}
		}
	}
	for i, op := range ops {
		var err error
		doc, err = scim.ApplyPatch(doc, []scim.PatchOperation{op})
		if err != nil {
			t.Fatalf("operation %d (%s %s): %v", i+1, op.Op, op.Path, err)
		}
		for urn, attrs := range requiredAttrs {
			ext, ok := doc.Obj.Get(urn)
			if !ok {
				continue
			}
			for _, a := range attrs {
				if _, ok := ext.Obj.Get(a); !ok && had[urn+":"+a] {
					t.Errorf("after operation %d (%s %s) %s lacks its required %s", i+1, op.Op, op.Path, urn, a)
				}
			}
		}
	}
}

// simApply seeds the simulator (the independent implementation) with cur,
// sends the operations as one Bulk PATCH, and returns the stored user
// normalized, without what the seeding added (a userName, an
// employeeNumber, a spend User the spend extensions depend on).
// Employees the values reference are seeded first.
func simApply(t *testing.T, cur scim.Value, wire []scim.PatchOperation) scim.Value {
	t.Helper()
	s := upsim.NewServer(upsim.Options{Seed: 1, AccessToken: simToken})
	defer s.Close()
	doc := normalize(cur)
	for _, k := range []string{"id", "meta", "schemas"} {
		doc.Obj.Delete(k)
	}
	type seeded struct{ urn, attr string } // urn "" is core; attr "" the whole extension
	var added []seeded
	if _, ok := doc.Obj.Get("userName"); !ok {
		doc.Obj.Set("userName", scim.Str("patch-forms@example.com"))
		added = append(added, seeded{attr: "userName"})
	}
	self := "PF-1"
	if e, ok := doc.Obj.Get(ent); ok {
		if n, ok := e.Obj.Get("employeeNumber"); ok {
			self = n.Str
		} else {
			e.Obj.Set("employeeNumber", scim.Str(self))
			added = append(added, seeded{ent, "employeeNumber"})
		}
	} else {
		doc.Obj.Set(ent, scim.Obj(&scim.Object{Members: []scim.Member{{Name: "employeeNumber", Value: scim.Str(self)}}}))
		added = append(added, seeded{urn: ent})
	}
	body := scim.AppendPatchOp(nil, wire)
	if spu, ok := doc.Obj.Get(sp); ok {
		// The fixture's spend User may lack what UPS requires of it.
		for _, a := range requiredAttrs[sp] {
			if _, ok := spu.Obj.Get(a); !ok {
				spu.Obj.Set(a, decode(t, map[string]string{"reimbursementCurrency": `"USD"`, "country": `"US"`, "locale": `"en-US"`}[a]))
				added = append(added, seeded{sp, a})
			}
		}
	} else if (strings.Contains(string(body), "spend:2.0:") || strings.Contains(string(scim.AppendJSON(nil, cur)), "spend:2.0:")) &&
		!strings.Contains(string(body), sp+`"`) {
		doc.Obj.Set(sp, decode(t, `{"reimbursementCurrency":"USD","country":"US","locale":"en-US"}`))
		added = append(added, seeded{urn: sp})
	}
	// References are seeded by employeeNumber (the fixtures' "value"s
	// are not users of the simulator).
	doc = normalize(doc)
	refs := map[string]bool{}
	for _, r := range batcher.Refs(scim.AppendJSON(nil, cur)) {
		refs[r] = true
	}
	for _, r := range batcher.PatchOpRefs(wire) {
		refs[r] = true
	}
	var seed []json.RawMessage
	for r := range refs {
		if r != self {
			seed = append(seed, json.RawMessage(`{"userName":"ref-`+r+`@example.com","`+ent+`":{"employeeNumber":"`+r+`"}}`))
		}
	}
	const id = "6f1d2c3b-0000-4000-8000-0000000000aa"
	doc.Obj.Set("id", scim.Str(id))
	seed = append(seed, scim.AppendJSON(nil, doc))
	if err := s.Seed(seed...); err != nil {
		t.Fatal(err)
	}
	op := batcher.Operation{BulkID: "patch-forms", Method: "PATCH", Path: "/Users/" + id, Data: body}
	reqs, err := batcher.Pack([]batcher.Operation{op}, batcher.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	send(t, s, [][]byte{reqs[0].Body})
	raw, ok := s.UserByEmployeeNumber(self)
	if !ok {
		t.Fatalf("the simulator lost employee %s", self)
	}
	got := decode(t, string(raw))
	for _, a := range added {
		switch {
		case a.urn == "":
			got.Obj.Delete(a.attr)
		case a.attr == "":
			got.Obj.Delete(a.urn)
		default:
			if e, ok := got.Obj.Get(a.urn); ok {
				e.Obj.Delete(a.attr)
				if e.Obj.Len() == 0 {
					got.Obj.Delete(a.urn)
				}
			}
		}
	}
	if _, ok := cur.Obj.Get("active"); !ok {
		if a, ok := got.Obj.Get("active"); ok && a.Kind == scim.Bool && a.Bool {
			got.Obj.Delete("active") // the simulator's default
		}
	}
	return normalize(got)
}

// diffAll diffs with every desired value counted as supplied.
func diffAll(cur scim.Value, du *DesiredUser, entKnown bool) []Change {
	d := &differ{all: true, entKnow: entKnown}
	d.diffDoc(cur, scim.Obj(&du.User.Doc))
	return append(d.out, removals(cur, du, "UPDATE", nil, entKnown, d.out)...)
}

// TestSuppliedOnly: values without an origin (defaults of created entries,
// injected companyId) are not compared with an existing user.
func TestSuppliedOnly(t *testing.T) {
	cur := decode(t, `{"`+rol+`":{"roles":[{"roleName":"R","roleGroups":["G"]}]},"`+ent+`":{"companyId":"OTHER","employeeNumber":"1"}}`)
	des := decode(t, `{"`+rol+`":{"roles":[{"roleName":"R","roleGroups":[]}]},"`+ent+`":{"companyId":"C","employeeNumber":"1"}}`)
	// Only the role element and employeeNumber come from the input.
	roles, _ := des.Obj.Get(rol)
	arr, _ := roles.Obj.Get("roles")
	arr.Arr[0].Origin = 1
	e, _ := des.Obj.Get(ent)
	en, _ := e.Obj.Get("employeeNumber")
	en.Origin = 2
	d := &differ{}
	d.diffDoc(cur, des)
	if len(d.out) != 0 {
		t.Errorf("changes %+v", d.out)
	}
	// A new element is added with its defaults; companyId is not sent.
	d = &differ{}
	d.diffDoc(decode(t, `{}`), des)
	if len(d.out) != 2 || d.out[0].Ops[0].Op != "add" || string(scim.AppendJSON(nil, d.out[0].New)) != `{"roles":[{"roleName":"R","roleGroups":[]}]}` ||
		d.out[1].Path != ent || string(scim.AppendJSON(nil, d.out[1].New)) != `{"employeeNumber":"1"}` {
		t.Errorf("changes %+v", d.out)
	}
}
