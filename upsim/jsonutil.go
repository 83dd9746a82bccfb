package upsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
)

// decodeValue decodes one JSON value with numbers kept as json.Number and
// rejects trailing data.
func decodeValue(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after JSON value")
	}
	return v, nil
}

// decodeObject decodes b as a JSON object.
func decodeObject(b []byte) (map[string]any, error) {
	v, err := decodeValue(b)
	if err != nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

// lookup finds key in m case-insensitively (SCIM attribute names are
// case-insensitive). An exact match wins.
func lookup(m map[string]any, key string) (string, any, bool) {
	if m == nil {
		return "", nil, false
	}
	if v, ok := m[key]; ok {
		return key, v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return k, v, true
		}
	}
	return "", nil, false
}

// getCI returns m[key] looked up case-insensitively.
func getCI(m map[string]any, key string) any {
	_, v, _ := lookup(m, key)
	return v
}

// setCI sets key in m, replacing an existing key that differs only in case.
func setCI(m map[string]any, key string, v any) {
	if k, _, ok := lookup(m, key); ok && k != key {
		delete(m, k)
	}
	m[key] = v
}

// deleteCI removes key from m case-insensitively; it reports whether a key
// was present.
func deleteCI(m map[string]any, key string) bool {
	k, _, ok := lookup(m, key)
	if ok {
		delete(m, k)
	}
	return ok
}

// stringAt returns m[key] when it is a string.
func stringAt(m map[string]any, key string) (string, bool) {
	s, ok := getCI(m, key).(string)
	return s, ok
}

// objectAt returns m[key] when it is an object.
func objectAt(m map[string]any, key string) (map[string]any, bool) {
	o, ok := getCI(m, key).(map[string]any)
	return o, ok
}

// deepCopy copies a decoded JSON value.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(t))
		for i, e := range t {
			a[i] = deepCopy(e)
		}
		return a
	default:
		return v
	}
}

func copyObject(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return deepCopy(m).(map[string]any)
}

// jsonEqual compares two decoded JSON values.
func jsonEqual(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
