package main

import (
	"fmt"
	"strings"

	"scimigrate/mapping"
)

// defaultFlags collects --default PATH=VALUE flags.
type defaultFlags []string

func (d *defaultFlags) String() string { return strings.Join(*d, " ") }

func (d *defaultFlags) Set(s string) error {
	path, value, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(path) == "" || value == "" {
		return fmt.Errorf("%q is not PATH=VALUE", s)
	}
	*d = append(*d, s)
	return nil
}

// apply adds the defaults to the config; a bad one is a usage error.
func (d defaultFlags) apply(cfg *mapping.Config) error {
	for _, s := range d {
		path, value, _ := strings.Cut(s, "=")
		if err := cfg.SetDefault(strings.TrimSpace(path), value); err != nil {
			return usageErrorf("--default: %v", err)
		}
	}
	return nil
}
