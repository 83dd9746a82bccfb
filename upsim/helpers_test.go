package upsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	testClientID = "cid"
	testSecret   = "secret"
	testRefresh  = "refresh-0"
)

// tc is a minimal test client speaking to a simulator over loopback.
type tc struct {
	t     *testing.T
	s     *Server
	base  string
	hc    *http.Client
	token string
}

func baseOpts() Options {
	return Options{Seed: 1, ClientID: testClientID, ClientSecret: testSecret, RefreshToken: testRefresh}
}

func newTC(t *testing.T, opts Options) *tc {
	t.Helper()
	s := NewServer(opts)
	t.Cleanup(s.Close)
	c := &tc{t: t, s: s, base: s.URL(), hc: &http.Client{Timeout: 10 * time.Second}}
	if opts.AccessToken != "" {
		c.token = opts.AccessToken
	} else {
		status, body := c.grant(url.Values{"grant_type": {"refresh_token"}, "client_id": {testClientID},
			"client_secret": {testSecret}, "refresh_token": {testRefresh}})
		if status != 200 {
			t.Fatalf("token grant: %d %s", status, body)
		}
		c.token = body["access_token"].(string)
	}
	return c
}

func (c *tc) grant(form url.Values) (int, map[string]any) {
	c.t.Helper()
	resp, err := c.hc.PostForm(c.base+tokenPath, form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		c.t.Fatalf("token body: %v", err)
	}
	return resp.StatusCode, m
}

// raw sends a request and returns the response (body read) or the
// transport error.
func (c *tc) raw(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// call sends a JSON request; it fails the test on transport errors.
func (c *tc) call(method, path string, body any) (int, map[string]any) {
	c.t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			c.t.Fatal(err)
		}
	}
	resp, rb, err := c.raw(method, path, b, nil)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	var m map[string]any
	if len(rb) > 0 && json.Unmarshal(rb, &m) != nil {
		m = map[string]any{"_raw": string(rb)}
	}
	return resp.StatusCode, m
}

func bulkBody(ops ...map[string]any) map[string]any {
	return map[string]any{"schemas": []string{urnBulkRequest}, "failOnErrors": 1, "Operations": ops}
}

func userData(userName, emp string, exts map[string]any) map[string]any {
	d := map[string]any{
		"schemas":  []string{urnCore, urnEnterprise},
		"userName": userName,
		"active":   true,
		"name":     map[string]any{"givenName": "Given" + emp, "familyName": "Family"},
		"emails":   []any{map[string]any{"type": "work", "value": userName}},
		urnEnterprise: map[string]any{
			"employeeNumber": emp,
			"companyId":      "company-1",
		},
	}
	for k, v := range exts {
		d[k] = v
	}
	return d
}

func createOp(bulkID, userName, emp string, exts map[string]any) map[string]any {
	return map[string]any{"method": "POST", "path": "/Users", "bulkId": bulkID, "data": userData(userName, emp, exts)}
}

func patchOp(bulkID, id string, ops ...map[string]any) map[string]any {
	return map[string]any{"method": "PATCH", "path": "/Users/" + id, "bulkId": bulkID,
		"data": map[string]any{"schemas": []string{urnPatchOp}, "Operations": ops}}
}

// submit posts a Bulk request and requires 202; it returns the provisionId.
func (c *tc) submit(ops ...map[string]any) string {
	c.t.Helper()
	status, body := c.call("POST", "/profile/v4/Bulk/", bulkBody(ops...))
	if status != http.StatusAccepted {
		c.t.Fatalf("bulk: %d %v", status, body)
	}
	return body["id"].(string)
}

// wait polls the summary status until completed.
func (c *tc) wait(id string) map[string]any {
	c.t.Helper()
	for i := 0; i < 5000; i++ {
		status, body := c.call("GET", "/profile/v4/provisions/"+id+"/status", nil)
		if status != 200 {
			c.t.Fatalf("status: %d %v", status, body)
		}
		if body["status"].(map[string]any)["completed"] == true {
			return body
		}
		time.Sleep(time.Millisecond)
	}
	c.t.Fatalf("provision %s never completed", id)
	return nil
}

// operations fetches every operation (all pages) of a provision.
func (c *tc) operations(id, state string) []map[string]any {
	c.t.Helper()
	var out []map[string]any
	start := 1
	for {
		q := fmt.Sprintf("?attributes=operations&startIndex=%d&count=7", start)
		if state != "" {
			q += "&state=" + state
		}
		status, body := c.call("GET", "/profile/v4/provisions/"+id+"/status"+q, nil)
		if status != 200 {
			c.t.Fatalf("status page: %d %v", status, body)
		}
		ops, _ := body["operations"].([]any)
		for _, o := range ops {
			out = append(out, o.(map[string]any))
		}
		total := int(body["totalResults"].(float64))
		start += len(ops)
		if len(ops) == 0 || start > total {
			return out
		}
	}
}

// run submits operations, waits for completion and returns the operations.
func (c *tc) run(ops ...map[string]any) []map[string]any {
	c.t.Helper()
	id := c.submit(ops...)
	c.wait(id)
	return c.operations(id, "")
}

func opCodeOf(op map[string]any) string {
	return op["status"].(map[string]any)["code"].(string)
}

func extOf(t *testing.T, op map[string]any, urn string) map[string]any {
	t.Helper()
	for _, e := range op["extensions"].([]any) {
		if m := e.(map[string]any); m["name"] == urn {
			return m
		}
	}
	t.Fatalf("extension %s missing in %v", urn, op)
	return nil
}

func extCode(t *testing.T, op map[string]any, urn string) (code, result, msgCode string) {
	t.Helper()
	e := extOf(t, op, urn)
	st := e["status"].(map[string]any)
	if msgs, _ := e["messages"].([]any); len(msgs) > 0 {
		msgCode = msgs[0].(map[string]any)["code"].(string)
	}
	return st["code"].(string), st["result"].(string), msgCode
}

func decodeMap(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func seedUser(t *testing.T, s *Server, userName, emp string, exts map[string]any) string {
	t.Helper()
	if err := s.Seed(mustJSON(userData(userName, emp, exts))); err != nil {
		t.Fatal(err)
	}
	raw, ok := s.UserByEmployeeNumber(emp)
	if !ok {
		t.Fatalf("seeded user %s missing", emp)
	}
	return decodeMap(t, raw)["id"].(string)
}

func mustContain(t *testing.T, s, sub string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Fatalf("%q does not contain %q", s, sub)
	}
}
