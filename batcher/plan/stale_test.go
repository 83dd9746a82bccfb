package plan

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// fakeFinder answers from a map of users by employeeNumber and records the
// size of each lookup.
type fakeFinder struct {
	users map[string]*Current
	calls []int
}

func (f *fakeFinder) Find(_ context.Context, wants []Want) ([]*Current, error) {
	f.calls = append(f.calls, len(wants))
	var out []*Current
	for _, w := range wants {
		if c := f.users[strings.ToLower(w.EmployeeNumber)]; c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// TestCheckStaleInChunks: a company-size plan is checked a chunk of users
// at a time (what the target returns is held for one chunk), and a change
// anywhere in it is found.
func TestCheckStaleInChunks(t *testing.T) {
	const n = 2*staleChunk + 123
	f := &fakeFinder{users: map[string]*Current{}}
	s := &Saved{File: &File{}}
	for i := range n {
		emp := fmt.Sprintf("E%05d", i)
		s.File.Users = append(s.File.Users, UserEntry{Action: "update", EmployeeNumber: emp, ID: "id-" + emp, TargetEmployee: emp, Version: `W/"1"`})
		f.users[strings.ToLower(emp)] = &Current{ID: "id-" + emp, EmployeeNumber: emp, Version: `W/"1"`}
	}
	f.users["e00007"].Version = `W/"2"`                                                                           // first chunk
	delete(f.users, strings.ToLower("E04100"))                                                                    // third chunk: gone
	s.File.Users = append(s.File.Users, UserEntry{Action: "create", EmployeeNumber: "E00042", UserName: "new@x"}) // created meanwhile
	stale, err := s.CheckStale(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, u := range stale {
		got = append(got, u.EmployeeNumber)
	}
	if strings.Join(got, " ") != "E00007 E00042 E04100" {
		t.Errorf("stale %v, want E00007 E00042 E04100", got)
	}
	if len(f.calls) != 3 {
		t.Errorf("%d lookups %v, want 3", len(f.calls), f.calls)
	}
	for _, c := range f.calls {
		if c > staleChunk {
			t.Errorf("a lookup of %d users, more than %d", c, staleChunk)
		}
	}
}
