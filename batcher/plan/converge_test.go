package plan

import (
	"testing"

	"scimigrate/scim"
)

func TestConverge(t *testing.T) {
	const (
		ent  = `"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"`
		appr = `"urn:ietf:params:scim:schemas:extension:spend:2.0:Approver"`
	)
	des := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a@x.com","active":true,
		"name":{"givenName":"A","familyName":"B"},` + ent + `:{"employeeNumber":"1"},
		` + appr + `:{"report":[{"approver":{"employeeNumber":"2"},"primary":true}]}}`
	tests := []struct {
		name, cur string
		want      string // the PatchOp sent, "" for none
	}{
		{"holds everything (and more)", `{"id":"u1","meta":{"version":"3"},"userName":"a@x.com","active":true,"title":"Boss",
			"name":{"givenName":"A","familyName":"B"},` + ent + `:{"employeeNumber":"1","companyId":"c"},
			` + appr + `:{"report":[{"approver":{"employeeNumber":"2","value":"u2"},"primary":true}]}}`, ""},
		{"approver missing (INVALID_USER the first time)", `{"id":"u1","userName":"a@x.com","active":true,
			"name":{"givenName":"A","familyName":"B"},` + ent + `:{"employeeNumber":"1"}}`,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:spend:2.0:Approver":{"report":[{"approver":{"employeeNumber":"2"},"primary":true}]}}}]}`},
		{"family name changed since", `{"id":"u1","userName":"a@x.com","active":true,
			"name":{"givenName":"A","familyName":"Old"},` + ent + `:{"employeeNumber":"1"},
			` + appr + `:{"report":[{"approver":{"employeeNumber":"2"},"primary":true}]}}`,
			`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"name.familyName","value":"B"}]}`},
	}
	d, err := scim.Decode([]byte(des))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := scim.Decode([]byte(tt.cur))
			if err != nil {
				t.Fatal(err)
			}
			ops := Converge(c, d)
			got := ""
			if len(ops) > 0 {
				got = string(scim.AppendPatchOp(nil, ops))
			}
			if got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}
