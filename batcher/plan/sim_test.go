package plan

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"scimigrate/batcher/client"
	"scimigrate/scim"
	"scimigrate/upsim"
)

const simToken = "plan-test-token"

// applyPlan applies the plan's operations to a snapshot with
// scim.ApplyPatch (creations get the id "new-<employeeNumber>").
func applyPlan(t *testing.T, snap *Snapshot, p *Plan) *Snapshot {
	t.Helper()
	out := &Snapshot{Source: snap.Source + " (after)"}
	byID := map[string]int{}
	for _, u := range snap.Users {
		c := *u
		byID[c.ID] = len(out.Users)
		out.Users = append(out.Users, &c)
	}
	for _, op := range p.Ops {
		switch op.Method {
		case "POST":
			v, err := scim.Decode(op.Data)
			if err != nil {
				t.Fatal(err)
			}
			v.Obj.Set("id", scim.Str("new-"+op.EmployeeNumber))
			c, err := NewCurrent(v)
			if err != nil {
				t.Fatal(err)
			}
			out.Users = append(out.Users, c)
		case "PATCH":
			i, ok := byID[strings.TrimPrefix(op.Path, "/Users/")]
			if !ok {
				t.Fatalf("%s: no such user", op.Path)
			}
			ops, err := scim.DecodePatchOp(op.Data)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := scim.ApplyPatch(out.Users[i].Doc, ops)
			if err != nil {
				t.Fatalf("%s %s: %v", op.BulkID, op.Path, err)
			}
			c, err := NewCurrent(doc)
			if err != nil {
				t.Fatal(err)
			}
			out.Users[i] = c
		}
	}
	return out
}

// TestPlansConverge: applying each golden plan to the snapshot with the
// PATCH applier yields the desired users: planning again finds nothing to
// create, update or deactivate.
func TestPlansConverge(t *testing.T) {
	t.Chdir(fixtureDir)
	for _, c := range planCases {
		t.Run(c.name, func(t *testing.T) {
			b, err := build(t, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !b.plan.Counts.Changes() {
				t.Fatal("the case changes nothing")
			}
			after := applyPlan(t, b.snap, b.plan)
			again, err := build(t, c, after)
			if err != nil {
				t.Fatal(err)
			}
			if again.plan.Counts.Changes() {
				var buf strings.Builder
				again.plan.Render(&buf, RenderOptions{})
				t.Errorf("after applying the plan, planning again still changes:\n%s", buf.String())
			}
			if again.plan.Counts.Rejected != b.plan.Counts.Rejected {
				t.Errorf("rejected %d, then %d", b.plan.Counts.Rejected, again.plan.Counts.Rejected)
			}
		})
	}
}

// newSim starts a simulator holding the fixture snapshot.
func newSim(t *testing.T) *upsim.Server {
	t.Helper()
	s := upsim.NewServer(upsim.Options{Seed: 7, AccessToken: simToken})
	t.Cleanup(s.Close)
	data, err := os.ReadFile("snapshot.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	var users []json.RawMessage
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		users = append(users, json.RawMessage(l))
	}
	if err := s.Seed(users...); err != nil {
		t.Fatal(err)
	}
	return s
}

func simClient(t *testing.T, s *upsim.Server) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{BaseURL: s.URL(), Tokens: client.StaticToken(simToken), MaxAttempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func simLive(s *upsim.Server) *Live {
	return simLiveWith(s, nil)
}

// simLiveWith reads the simulator through a client configured by mod.
func simLiveWith(s *upsim.Server, mod func(*client.Config)) *Live {
	cfg := client.Config{BaseURL: s.URL(), Tokens: client.StaticToken(simToken), MaxAttempts: 2}
	if mod != nil {
		mod(&cfg)
	}
	c, err := client.New(cfg)
	if err != nil {
		panic(err)
	}
	return &Live{Client: c, Chunk: 2, PageSize: 2}
}

// send posts the plan's Bulk bodies in order, letting each complete, and
// fails on any operation that did not succeed.
func send(t *testing.T, s *upsim.Server, reqs [][]byte) {
	t.Helper()
	ctx := context.Background()
	c := simClient(t, s)
	for i, body := range reqs {
		ps, err := c.PostBulk(ctx, body)
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		s.CompletePending()
		st, err := c.StatusOperations(ctx, ps.ID, 1, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range st.Operations {
			if op.Status.Code != "200" {
				b, _ := json.Marshal(op)
				t.Errorf("request %d: operation %s failed: %s", i+1, op.BulkID, b)
			}
		}
	}
}

func simSnapshot(t *testing.T, s *upsim.Server) *Snapshot {
	t.Helper()
	out := &Snapshot{Source: "simulator"}
	for _, raw := range s.Users() {
		c, err := ParseUser(raw)
		if err != nil {
			t.Fatal(err)
		}
		out.Users = append(out.Users, c)
	}
	return out
}

// normalize drops what the service assigns (id, meta, schemas, the UUID
// it resolves into references) so documents compare by content.
func normalize(v scim.Value) scim.Value {
	v = scim.Clone(v)
	for _, k := range []string{"id", "meta", "schemas"} {
		v.Obj.Delete(k)
	}
	var walk func(name string, x *scim.Value)
	walk = func(name string, x *scim.Value) {
		switch x.Kind {
		case scim.ObjectKind:
			if isReference(name) && !strings.EqualFold(name, "ruleClass") {
				x.Obj.Delete("value")
			}
			for i := range x.Obj.Members {
				walk(x.Obj.Members[i].Name, &x.Obj.Members[i].Value)
			}
		case scim.Array:
			for i := range x.Arr {
				walk(name, &x.Arr[i])
			}
		}
	}
	walk("", &v)
	return v
}

// TestPlanAgainstSimulator: the simulator seeded with the snapshot and sent
// each golden plan's Bulk bodies holds exactly what the PATCH applier
// computes, and planning again against it finds nothing to do.
func TestPlanAgainstSimulator(t *testing.T) {
	t.Chdir(fixtureDir)
	for _, c := range planCases {
		t.Run(c.name, func(t *testing.T) {
			s := newSim(t)
			b, err := build(t, c, nil)
			if err != nil {
				t.Fatal(err)
			}
			var bodies [][]byte
			for _, r := range b.plan.Requests {
				bodies = append(bodies, r.Body)
			}
			send(t, s, bodies)
			got := simSnapshot(t, s)
			want := applyPlan(t, b.snap, b.plan)
			if len(got.Users) != len(want.Users) {
				t.Fatalf("simulator holds %d users, the applier %d", len(got.Users), len(want.Users))
			}
			byEmp := map[string]*Current{}
			for _, u := range got.Users {
				byEmp[u.EmployeeNumber] = u
			}
			for _, w := range want.Users {
				g := byEmp[w.EmployeeNumber]
				if g == nil {
					t.Errorf("simulator has no employee %s", w.EmployeeNumber)
					continue
				}
				if gn, wn := normalize(g.Doc), normalize(w.Doc); !scim.Equal(gn, wn) {
					t.Errorf("employee %s:\nsimulator %s\napplier   %s", w.EmployeeNumber, scim.AppendJSON(nil, gn), scim.AppendJSON(nil, wn))
				}
			}
			again, err := build(t, c, got)
			if err != nil {
				t.Fatal(err)
			}
			if again.plan.Counts.Changes() {
				var buf strings.Builder
				again.plan.Render(&buf, RenderOptions{})
				t.Errorf("planning again against the simulator still changes:\n%s", buf.String())
			}
		})
	}
}

// nonEntitlement lists changes other than entitlements, values in a
// canonical form (sorted members).
func nonEntitlement(cs []Change) []string {
	canon := func(v scim.Value) string {
		b, _ := json.Marshal(scim.ToAny(prune(v)))
		return string(b)
	}
	var out []string
	for _, c := range cs {
		if strings.HasPrefix(c.Path, "entitlements") {
			continue
		}
		out = append(out, string(c.Kind)+" "+c.Path+" "+canon(c.Old)+" "+canon(c.New))
	}
	return out
}

// TestLivePlan: the plan made from live reads of the simulator (v4.1 search
// with "or" chains and cursor paging, or v4 filter, then the spend and
// travel profiles) equals the plan made from the snapshot, except for
// entitlements, which the Identity service does not return: asserted ones
// are added, absent ones cannot be removed (the plan notes both).
func TestLivePlan(t *testing.T) {
	t.Chdir(fixtureDir)
	for _, v4 := range []bool{false, true} {
		for _, c := range planCases {
			t.Run(map[bool]string{false: "v4.1-search/", true: "v4-filter/"}[v4]+c.name, func(t *testing.T) {
				s := newSim(t)
				ref, err := build(t, c, nil)
				if err != nil {
					t.Fatal(err)
				}
				l := simLive(s)
				l.V4Filter = v4
				snap, err := l.Snapshot(context.Background(), ref.d.Wants(), c.deact != "", false)
				if err != nil {
					t.Fatal(err)
				}
				live, err := build(t, c, snap)
				if err != nil {
					t.Fatal(err)
				}
				if len(live.plan.Users) != len(ref.plan.Users) {
					t.Fatalf("%d users in the live plan, %d in the snapshot plan", len(live.plan.Users), len(ref.plan.Users))
				}
				for i, lu := range live.plan.Users {
					ru := ref.plan.Users[i]
					if lu.EmployeeNumber != ru.EmployeeNumber || lu.ID != ru.ID && ru.Action != Create {
						t.Errorf("user %d: live %s/%s, snapshot %s/%s", i, lu.EmployeeNumber, lu.ID, ru.EmployeeNumber, ru.ID)
					}
					if a, b := strings.Join(nonEntitlement(lu.Changes), "\n"), strings.Join(nonEntitlement(ru.Changes), "\n"); a != b {
						t.Errorf("employee %s: live changes\n%s\nsnapshot changes\n%s", lu.EmployeeNumber, a, b)
					}
					if lu.Action != ru.Action && !(ru.Action == NoChange && lu.Action == Update && hasEntitlementAdd(lu.Changes)) {
						t.Errorf("employee %s: live %s, snapshot %s", lu.EmployeeNumber, lu.Action, ru.Action)
					}
				}
			})
		}
	}
}

// TestStalePlan: a saved plan is refused when a user it matched changed in
// the target since, or when an employee it creates appeared; an unchanged
// target passes; --allow-stale returns the list without refusing.
func TestStalePlan(t *testing.T) {
	t.Chdir(fixtureDir)
	ctx := context.Background()
	s := newSim(t)
	l := simLive(s)
	c := planCases[1] // update: 1001 and 1003 change, 1002 unchanged
	b, err := build(t, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := l.Snapshot(ctx, b.d.Wants(), false, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err = build(t, c, snap)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := b.plan.Save(dir, saveInfo(c)); err != nil {
		t.Fatal(err)
	}
	saved, stale, err := Check(ctx, dir, l, false)
	if err != nil || len(stale) != 0 {
		t.Fatalf("fresh plan: stale %v, err %v", stale, err)
	}
	if len(saved.Ops) != len(b.plan.Ops) || len(saved.Requests) != len(b.plan.Requests) {
		t.Fatalf("loaded %d ops / %d requests, saved %d / %d", len(saved.Ops), len(saved.Requests), len(b.plan.Ops), len(b.plan.Requests))
	}

	// Someone changes 1002 (unchanged in the plan) and 1003 (updated).
	send(t, s, [][]byte{[]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[` +
		`{"method":"PATCH","path":"/Users/00000000-0000-4000-8000-000000001003","bulkId":"x1","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"nickName","value":"J"}]}},` +
		`{"method":"PATCH","path":"/Users/00000000-0000-4000-8000-000000001002","bulkId":"x2","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"Boss"}]}}]}`)})
	_, stale, err = Check(ctx, dir, l, false)
	if !errors.Is(err, ErrStale) {
		t.Fatalf("err = %v, want ErrStale", err)
	}
	if len(stale) != 2 || stale[0].EmployeeNumber != "1002" || stale[1].EmployeeNumber != "1003" ||
		!strings.Contains(stale[1].Reason, "meta.version") {
		t.Errorf("stale %v", stale)
	}
	if !strings.Contains(err.Error(), "1003 (id 00000000-0000-4000-8000-000000001003): changed since the plan") {
		t.Errorf("message: %v", err)
	}
	if _, stale, err = Check(ctx, dir, l, true); err != nil || len(stale) != 2 {
		t.Errorf("--allow-stale: stale %v, err %v", stale, err)
	}

	// A plan that creates 2001 and 2002 is stale once 2002 exists.
	cc := planCases[0]
	if snap, err = l.Snapshot(ctx, b.d.Wants(), false, false); err != nil {
		t.Fatal(err)
	}
	b, err = build(t, cc, snap)
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	if _, err := b.plan.Save(dir, saveInfo(cc)); err != nil {
		t.Fatal(err)
	}
	if err := s.Seed(json.RawMessage(`{"userName":"someone@example.com","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"2002"}}`)); err != nil {
		t.Fatal(err)
	}
	_, stale, err = Check(ctx, dir, l, false)
	if !errors.Is(err, ErrStale) || len(stale) != 1 || stale[0].EmployeeNumber != "2002" || !strings.Contains(stale[0].Reason, "now has it") {
		t.Errorf("create: stale %v, err %v", stale, err)
	}
}

// TestSavedPlanIntegrity: Load gives back exactly the operations and bodies
// that were saved, and refuses a body edited after the plan.
func TestSavedPlanIntegrity(t *testing.T) {
	t.Chdir(fixtureDir)
	b, err := build(t, planCases[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if _, err := b.plan.Save(dir, saveInfo(planCases[0])); err != nil {
		t.Fatal(err)
	}
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for got, err := range s.Operations() {
		if err != nil {
			t.Fatal(err)
		}
		op := b.plan.Ops[i]
		if got.BulkID != op.BulkID || got.Method != op.Method || got.Path != op.Path || string(got.Data) != string(op.Data) ||
			got.EmployeeNumber != op.EmployeeNumber || len(got.Sources) != len(op.Sources) {
			t.Errorf("op %d: %+v, saved %+v", i, got, op)
		}
		if s.Ops[i].BulkID != op.BulkID || s.Ops[i].Data != nil {
			t.Errorf("loaded op %d: %+v (its JSON stays in the request file)", i, s.Ops[i])
		}
		i++
	}
	if i != len(b.plan.Ops) {
		t.Errorf("%d operations yielded, want %d", i, len(b.plan.Ops))
	}
	for i, r := range b.plan.Requests {
		body, err := s.Body(i)
		if err != nil || string(body) != string(r.Body) || s.Waves[i] != b.plan.Waves[i] {
			t.Errorf("request %d differs (%v)", i, err)
		}
	}
	if s.Waves[0] != 0 || s.Waves[1] != 1 {
		t.Errorf("waves %v: the approver's creation must come first", s.Waves)
	}
	body := append([]byte(nil), b.plan.Requests[0].Body...)
	body[len(body)-3] = ' '
	if err := os.WriteFile(dir+"/"+BulkFile(0), body, 0o600); err != nil {
		t.Fatal(err)
	}
	// Changed after Load: nothing of it is sent.
	for op, err := range s.Operations() {
		if err == nil || !strings.Contains(err.Error(), "was changed after the plan was saved") {
			t.Errorf("tampered body after Load: yielded %s, %v", op.BulkID, err)
		}
		break
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "was changed after the plan was saved") {
		t.Errorf("tampered body: %v", err)
	}
}

// instantClock records waits instead of sleeping.
type instantClock struct {
	mu    sync.Mutex
	now   time.Time
	waits int
}

func (c *instantClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *instantClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.waits++
	return ctx.Err()
}

// TestLiveRetries: live reads survive 429 (with Retry-After) and 5xx
// answers with the client's retry policy, and read the same state.
func TestLiveRetries(t *testing.T) {
	t.Chdir(fixtureDir)
	ctx := context.Background()
	clean := newSim(t)
	b, err := build(t, planCases[1], nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := simLive(clean).Snapshot(ctx, b.d.Wants(), true, true)
	if err != nil {
		t.Fatal(err)
	}
	s := upsim.NewServer(upsim.Options{Seed: 11, AccessToken: simToken,
		Faults: upsim.Faults{RateLimit: 0.25, Unavailable: 0.25}})
	t.Cleanup(s.Close)
	var users []json.RawMessage
	for _, u := range clean.Users() {
		users = append(users, u)
	}
	if err := s.Seed(users...); err != nil {
		t.Fatal(err)
	}
	clock := &instantClock{now: time.Now()}
	l := simLiveWith(s, func(c *client.Config) { c.MaxAttempts, c.Clock, c.MaxElapsed = 20, clock, 1000*time.Hour })
	got, err := l.Snapshot(ctx, b.d.Wants(), true, true)
	if err != nil {
		t.Fatal(err)
	}
	if clock.waits == 0 || s.Stats().FaultsInjected == 0 {
		t.Fatalf("no fault was retried (waits %d, faults %d)", clock.waits, s.Stats().FaultsInjected)
	}
	if len(got.Users) != len(want.Users) {
		t.Fatalf("%d users, want %d", len(got.Users), len(want.Users))
	}
	for i := range want.Users {
		if g, w := normalize(got.Users[i].Doc), normalize(want.Users[i].Doc); !scim.Equal(g, w) {
			t.Errorf("user %d:\n%s\nwant\n%s", i, scim.AppendJSON(nil, g), scim.AppendJSON(nil, w))
		}
	}
}
