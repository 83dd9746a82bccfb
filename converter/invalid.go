package converter

import (
	"fmt"
	"slices"
	"strings"

	"scimigrate/converter/source"
	"scimigrate/scim"
	"scimigrate/scim/schema"
	"scimigrate/scim/scimpath"
)

// dropInvalidOptional is onInvalidOptional: drop applied to a validated
// user: each violation of an optional attribute's value that came from the
// input is dropped from the user with a warning at that value, and the user
// is validated again. Required attributes, identity keys and values the
// input did not give (defaults, the company ID) are never dropped: their
// violations remain and reject the user as before. It returns the remaining
// violations and how many values it dropped. When violations remain, the
// user is rejected: it then drops nothing and returns vs, so that the
// rejection lists every reason.
func dropInvalidOptional(u *scim.User, vs []Violation, validate Validator, collect source.Sink) ([]Violation, int) {
	var warnings []source.Diagnostic
	for _, v := range vs {
		if v.Rule == "required" || v.Origin == 0 || identityPath(v.Path) {
			continue
		}
		p, err := scimpath.Parse(v.Path)
		if err != nil || schemaRequired(p) {
			continue
		}
		slot, ok := u.Lookup(p)
		if !ok || slot.Origin == 0 || slot.Kind == scim.Null || slot.Kind == scim.ObjectKind || slot.Kind == scim.Array {
			continue // not a single value from the input (or dropped already)
		}
		o, ok := u.OriginOf(slot.Origin)
		if !ok {
			continue
		}
		warnings = append(warnings, source.Diagnostic{File: o.File, Line: o.Line, Col: o.Col, Field: o.Field, Column: o.Column, Severity: source.Warning,
			Msg: fmt.Sprintf("not sent: %s: %s (onInvalidOptional: drop; the rest of employee %s is sent)", v.Path, v.Msg, u.Key)})
		*slot = scim.Value{}
	}
	if len(warnings) == 0 {
		return vs, 0
	}
	if len(validate(u, u.Identity)) > 0 {
		return vs, 0 // rejected whole, for the reasons found first
	}
	for _, d := range warnings {
		collect(d)
	}
	return nil, len(warnings)
}

// identityPath reports whether a violation path is one of the keys that
// identify a user: never dropped, never defaulted.
func identityPath(path string) bool {
	switch strings.ToLower(path) {
	case "username", "externalid", strings.ToLower(scimpath.EnterpriseUser + ":employeeNumber"), strings.ToLower(scimpath.EnterpriseUser + ":companyId"):
		return true
	}
	return false
}

// schemaRequired reports whether the attribute a path names is required on
// create (by its object: the schema, an attribute or a multi-valued
// element). A path it cannot resolve counts as required.
func schemaRequired(p *scimpath.Path) bool {
	var parent *schema.Node
	var leaf string
	var ok bool
	switch {
	case len(p.Sub) > 0:
		leaf = p.Sub[len(p.Sub)-1]
		parent, ok = schema.Lookup(&scimpath.Path{URN: p.URN, Attr: p.Attr, Filter: p.Filter, Sub: p.Sub[:len(p.Sub)-1]})
	case p.Filter == nil && len(p.Attr) == 1:
		leaf = p.Attr[0]
		parent, ok = schema.Schema(p.Schema())
	case p.Filter == nil && len(p.Attr) > 1:
		leaf = p.Attr[len(p.Attr)-1]
		parent, ok = schema.Lookup(&scimpath.Path{URN: p.URN, Attr: p.Attr[:len(p.Attr)-1]})
	}
	return !ok || parent == nil || parent.IsRequired(leaf)
}

// remedy says how to supply a required attribute the input lacks, for the
// "required attribute missing" message.
func remedy(path string) string {
	switch {
	case strings.HasSuffix(path, ":companyId"):
		return " (set --company-id, or companyId in the config file)"
	case identityPath(path):
		return " (it identifies the user: supply it in the input; it cannot be defaulted)"
	}
	p, err := scimpath.Parse(path)
	if err != nil || p.Filter != nil || len(p.Attr) == 0 {
		return " (supply it in the input: a config default cannot fill it)"
	}
	n, ok := schema.Lookup(p)
	if !ok {
		return " (supply it in the input: a config default cannot fill it)"
	}
	var keys []string
	firstKey := path
	if n.IsObject() {
		// A complex attribute (travel ruleClass): its required
		// sub-attributes are what a default can fill.
		for _, sub := range n.Properties() {
			if n.IsRequired(sub) {
				if len(keys) == 0 {
					firstKey = path + "." + sub
				}
				keys = append(keys, fmt.Sprintf("%q: \"VALUE\"", path+"."+sub))
			}
		}
		if len(keys) == 0 { // any one of its sub-attributes makes it
			var alts []string
			for _, sub := range n.Properties() {
				alts = append(alts, fmt.Sprintf("{%q: \"VALUE\"}", path+"."+sub))
			}
			if len(alts) == 0 {
				return " (supply it in the input: a config default cannot fill it)"
			}
			sub := n.Properties()[0]
			if slices.Contains(n.Properties(), "name") {
				sub = "name" // travel ruleClass: rule classes are named
			}
			return " (supply it in the input, or set one value for every user to create: --default " + defaultFlag(path+"."+sub) +
				" or, in the config file, defaults: " + strings.Join(alts, " or ") + ")"
		}
	} else {
		keys = append(keys, fmt.Sprintf("%q: \"VALUE\"", path))
	}
	return " (supply it in the input, or set one value for every user to create: --default " + defaultFlag(firstKey) +
		" or, in the config file, defaults: {" + strings.Join(keys, ", ") + "})"
}

// defaultFlag is the --default argument for a path, quoted for a shell.
func defaultFlag(path string) string {
	return "'" + path + "=VALUE'"
}
