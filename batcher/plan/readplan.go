package plan

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// readPlanJSON reads plan.json from r without holding its users: each goes
// to user in turn (nil skips them). With stop the read ends where the users
// start (user nil: the head and the summary are read) or once they are read
// (the members after them, the operations among them, are not). The File
// returned has no Users.
func readPlanJSON(r io.Reader, name string, user func(*UserEntry) error, stop bool) (*File, error) {
	bad := func(err error) error { return fmt.Errorf("%s: %w", name, err) }
	dec := json.NewDecoder(r)
	if t, err := dec.Token(); err != nil {
		return nil, bad(err)
	} else if t != json.Delim('{') {
		return nil, bad(fmt.Errorf("not a JSON object"))
	}
	// Every member but the users is collected and decoded at the end, as
	// json.Unmarshal would decode the whole object.
	rest := []byte{'{'}
	add := func(key string, raw json.RawMessage) {
		if len(rest) > 1 {
			rest = append(rest, ',')
		}
		k, _ := json.Marshal(key)
		rest = append(append(append(rest, k...), ':'), raw...)
	}
	head := func() (*File, error) {
		var f File
		if err := json.Unmarshal(append(rest, '}'), &f); err != nil {
			return nil, bad(err)
		}
		if f.Format != FormatName {
			return nil, fmt.Errorf("%s: not a scimigrate plan (format %q)", name, f.Format)
		}
		if f.Version != FormatVersion {
			return nil, fmt.Errorf("%s: plan format version %d; this scimigrate reads version %d", name, f.Version, FormatVersion)
		}
		f.Users = nil
		return &f, nil
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, bad(err)
		}
		key, _ := t.(string)
		if !strings.EqualFold(key, "users") {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, bad(err)
			}
			add(key, raw)
			continue
		}
		if stop && user == nil {
			return head()
		}
		if t, err := dec.Token(); err != nil {
			return nil, bad(err)
		} else if t == nil {
			continue // "users": null
		} else if t != json.Delim('[') {
			return nil, bad(fmt.Errorf("users: not a list"))
		}
		for dec.More() {
			var u UserEntry
			if err := dec.Decode(&u); err != nil {
				return nil, bad(err)
			}
			if user == nil {
				continue
			}
			if err := user(&u); err != nil {
				return nil, err
			}
		}
		if _, err := dec.Token(); err != nil { // ]
			return nil, bad(err)
		}
		if stop {
			return head()
		}
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, bad(err)
	}
	return head()
}

// ReadFile reads plan.json of a saved plan (not the request bodies), with
// its users.
func ReadFile(dir string) (*File, error) {
	var users []UserEntry
	f, err := readPlanDir(dir, func(u *UserEntry) error { users = append(users, *u); return nil }, false, nil)
	if err != nil {
		return nil, err
	}
	f.Users = users
	return f, nil
}

// readPlanDir reads DIR/plan.json with readPlanJSON, hashing what it reads
// into h when set.
func readPlanDir(dir string, user func(*UserEntry) error, stop bool, h io.Writer) (*File, error) {
	path := filepath.Join(dir, PlanFile)
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading the saved plan: %w", err)
	}
	defer fh.Close()
	var r io.Reader = bufio.NewReaderSize(fh, 256<<10)
	if h != nil {
		r = io.TeeReader(r, h)
	}
	f, err := readPlanJSON(r, path, user, stop)
	if err != nil {
		return nil, err
	}
	if h != nil {
		// The plan's id covers the whole file, past what the decoder needed.
		if _, err := io.Copy(io.Discard, r); err != nil {
			return nil, err
		}
	}
	return f, nil
}
