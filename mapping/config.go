package mapping

import (
	"bytes"
	"fmt"
	"os"
	"scimigrate/scim/schema"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"

	"scimigrate/scim/scimpath"
)

// Config holds the site-specific settings a conversion needs that no input
// file carries (scimigrate.yaml, --config).
type Config struct {
	// CompanyID is the Concur company UUID; UPS requires it on create.
	CompanyID string `yaml:"companyId"`
	// TravelCustomFields names the travel custom fields behind 350 Custom 1–25
	// (the travel extension identifies them by their configured name).
	TravelCustomFields map[int]string `yaml:"travelCustomFields"`
	// Email2Type and Email3Type are the email types for 350 Email 2 and 3
	// (work, home, work2, other, other2). Defaults: work2, other.
	Email2Type string `yaml:"email2Type"`
	Email3Type string `yaml:"email3Type"`
	// Options switch on mappings the public pages leave open (see the tables'
	// "option:" rows and docs/configuration.md).
	Options map[string]bool `yaml:"options"`
	// Existing is the existing-record handling when no 100 record says it
	// (UPDATE or REPLACE).
	Existing string `yaml:"existing"`
	// Defaults fill attributes that users to create lack, by SCIM path:
	// sources such as v3 user lists carry no reimbursement currency or
	// locale, which UPS needs once a user has a spend profile. A default goes
	// only into an extension the user already carries, never into an update
	// of an existing user, and is reported in the summary.
	Defaults map[string]string `yaml:"defaults"`
	// OnInvalidOptional says what an invalid value of an optional attribute
	// does: "reject" (the default) rejects the record or, when validation
	// finds it, the whole employee; "drop" drops the value with a warning,
	// counts it among the values not sent, and keeps the rest of the user.
	// Required attributes and identity keys reject either way.
	OnInvalidOptional string `yaml:"onInvalidOptional"`

	defaults []Default
}

// Default is a compiled entry of Config.Defaults.
type Default struct {
	Path  *scimpath.Path
	Value string
}

// CompiledDefaults returns the defaults in a stable order.
func (c *Config) CompiledDefaults() []Default {
	if c == nil {
		return nil
	}
	return c.defaults
}

// DefaultConfig is used when no config file is given.
func DefaultConfig() *Config {
	return &Config{Email2Type: "work2", Email3Type: "other", OnInvalidOptional: "reject"}
}

// LoadConfig reads a config file; unknown keys are errors with their line.
func LoadConfig(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseConfig(data, path)
}

// ParseConfig parses config YAML.
func ParseConfig(data []byte, name string) (*Config, error) {
	c := DefaultConfig()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && err.Error() != "EOF" {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "yaml: "))
	}
	for k := range c.TravelCustomFields {
		if k < 1 || k > 25 {
			return nil, fmt.Errorf("%s: travelCustomFields: custom field %d is not between 1 and 25", name, k)
		}
	}
	for _, t := range []string{c.Email2Type, c.Email3Type} {
		switch t {
		case "work", "home", "work2", "other", "other2":
		default:
			return nil, fmt.Errorf("%s: email type %q is not one of work, home, work2, other, other2", name, t)
		}
	}
	for o := range c.Options {
		if why, ok := RetiredOptions[o]; ok {
			return nil, fmt.Errorf("%s: options: %s was removed: %s", name, o, why)
		}
		if _, ok := KnownOptions[o]; !ok {
			return nil, fmt.Errorf("%s: options: unknown option %q (known: %s)", name, o, strings.Join(optionNames(), ", "))
		}
	}
	keys := make([]string, 0, len(c.Defaults))
	for k := range c.Defaults {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		d, err := compileDefault(k, c.Defaults[k])
		if err != nil {
			return nil, fmt.Errorf("%s: defaults: %v", name, err)
		}
		c.defaults = append(c.defaults, d)
	}
	switch c.OnInvalidOptional {
	case "":
		c.OnInvalidOptional = "reject"
	case "reject", "drop":
	default:
		return nil, fmt.Errorf("%s: onInvalidOptional: %q is not reject or drop", name, c.OnInvalidOptional)
	}
	switch strings.ToUpper(c.Existing) {
	case "", "UPDATE", "REPLACE":
		c.Existing = strings.ToUpper(c.Existing)
	default:
		return nil, fmt.Errorf("%s: existing: %q is not UPDATE or REPLACE", name, c.Existing)
	}
	return c, nil
}

func compileDefault(path, value string) (Default, error) {
	p, err := scimpath.Parse(path)
	if err != nil {
		return Default{}, err
	}
	if p.Filter != nil && len(p.Sub) == 0 || len(p.Attr) == 0 {
		return Default{}, fmt.Errorf("%s does not name a single value", path)
	}
	if err := schema.CheckPath(p); err != nil {
		return Default{}, err
	}
	if value == "" {
		return Default{}, fmt.Errorf("%s has an empty value", path)
	}
	return Default{Path: p, Value: value}, nil
}

// SetDefault adds or replaces a default (--default PATH=VALUE), checked as
// the config file's defaults are.
func (c *Config) SetDefault(path, value string) error {
	d, err := compileDefault(path, value)
	if err != nil {
		return err
	}
	if c.Defaults == nil {
		c.Defaults = map[string]string{}
	}
	c.Defaults[path] = value
	for i := range c.defaults {
		if c.defaults[i].Path.String() == d.Path.String() {
			c.defaults[i] = d
			return nil
		}
	}
	c.defaults = append(c.defaults, d)
	return nil
}

// KnownOptions are the optional behaviours, with what they do.
var KnownOptions = map[string]string{
	"paymentRequestAssigned": "305 column 81 'A Payment Request has been Assigned' → WorkflowPreference emailStatusChangeOnPayment when column 51 is blank (the page maps both columns to one attribute)",
	"xmlProfileSyncId":       "350 column 58 (missing on the page; XML Profile Sync ID) → travel xmlProfileSyncId",
	"travelPermissions":      "350 columns 59 and 61 → travel permissions.ProfileUser / permissions.OpenBookingUser",
	"travelEntitlement":      "Travel Wizard User (300/305 column 86) and Travel User (310 column 14) also assert the Travel entitlement",
	"locateEntitlement":      "310 column 17 'Locate and Alert' → entitlement Locate",
	"roleGroupsFromSegments": "400 segments 1–10 joined with '-' into one roleGroups entry",
	"customFieldFallback":    "350 Custom N with no configured travel field name is sent as customN instead of being reported unmapped",
}

// RetiredOptions are options that no longer exist, with why; a config file
// that sets one is refused with that reason.
var RetiredOptions = map[string]string{
	"unlistedRoles": "it sent 300/305 column 68 as role EXP_AUTH_REQUEST_APPROVER, which neither the UPS role-code page nor the UPS Swagger lists, so UPS (and the schema check) rejected every user with it; column 68 is now always reported as not sent (flat-file spec §4 #9)",
}

// DropInvalidOptional reports whether invalid optional values are dropped
// (onInvalidOptional: drop) rather than rejected.
func (c *Config) DropInvalidOptional() bool { return c != nil && c.OnInvalidOptional == "drop" }

func optionNames() []string {
	out := make([]string, 0, len(KnownOptions))
	for k := range KnownOptions {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Option reports whether an option is on.
func (c *Config) Option(name string) bool { return c != nil && c.Options[name] }

// Value resolves {cfg:name} placeholders in path templates.
func (c *Config) Value(name string) (string, bool) {
	switch {
	case name == "email2Type":
		return c.Email2Type, c.Email2Type != ""
	case name == "email3Type":
		return c.Email3Type, c.Email3Type != ""
	case strings.HasPrefix(name, "travelCustom"):
		var n int
		if _, err := fmt.Sscanf(name, "travelCustom%d", &n); err != nil {
			return "", false
		}
		v, ok := c.TravelCustomFields[n]
		if !ok && c.Option("customFieldFallback") {
			return fmt.Sprintf("custom%d", n), true
		}
		return v, ok && v != ""
	}
	return "", false
}

func sortStrings(s []string) { sort.Strings(s) }
