package devops

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Naming rules from "Naming restrictions and conventions" (learn.microsoft.com,
// azure/devops/organizations/settings/naming-restrictions). Organization: English
// letters, digits and hyphens, starts and ends with a letter or digit, at most 50
// characters. Project: at most 64 UTF-16 units, no control characters, none of
// / : \ ~ & % ; @ ' " ? < > | # $ * } { , + = [ ], no leading '_' or '.', no trailing
// '.', not a system-reserved name nor an IIS hidden segment.

const (
	maxOrgLen     = 50
	maxProjectLen = 64
	projectBad    = `/:\~&%;@'"?<>|#$*}{,+=[]`
)

// isReservedProject reports system-reserved names and IIS hidden segments; lower is
// the lower-cased name (the check is case-insensitive).
func isReservedProject(lower string) bool {
	switch lower {
	case "prn", "nul", "con", "aux",
		"com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9", "com10",
		"lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9",
		"server", "signalr", "defaultcollection", "web",
		"app_browsers", "app_code", "app_data", "app_globalresources",
		"app_localresources", "app_themes", "app_webresources", "bin", "web.config":
		return true
	}
	return false
}

// ValidateOrg checks Azure DevOps organization naming rules; *ValidationError otherwise.
func ValidateOrg(org string) error {
	bad := func(reason string) error { return &ValidationError{Field: "organization", Reason: reason} }
	if org == "" {
		return bad("empty")
	}
	if len(org) > maxOrgLen {
		return bad("longer than 50 characters")
	}
	for i := 0; i < len(org); i++ {
		ch := org[i]
		switch {
		case ch >= 'a' && ch <= 'z', ch >= 'A' && ch <= 'Z', ch >= '0' && ch <= '9':
		case ch == '-':
			if i == 0 || i == len(org)-1 {
				return bad("must start and end with a letter or digit")
			}
		default:
			return bad("only letters, digits and hyphens are allowed")
		}
	}
	return nil
}

// ValidateProject checks Azure DevOps project naming rules; *ValidationError otherwise.
func ValidateProject(project string) error {
	bad := func(reason string) error { return &ValidationError{Field: "project", Reason: reason} }
	if strings.TrimSpace(project) == "" {
		return bad("empty")
	}
	if !utf8.ValidString(project) {
		return bad("not valid UTF-8")
	}
	units := 0
	for _, r := range project {
		units++
		if r > 0xFFFF { // a surrogate pair counts as two characters
			units++
		}
		if unicode.IsControl(r) || unicode.Is(unicode.Cs, r) {
			return bad("control characters are not allowed")
		}
		if strings.ContainsRune(projectBad, r) {
			return bad("the characters " + projectBad + " are not allowed")
		}
	}
	if units > maxProjectLen {
		return bad("longer than 64 characters")
	}
	switch {
	case project[0] == '_':
		return bad("must not start with '_'")
	case project[0] == '.':
		return bad("must not start with '.'")
	case project[len(project)-1] == '.':
		return bad("must not end with '.'")
	}
	if isReservedProject(strings.ToLower(project)) {
		return bad("reserved name")
	}
	return nil
}

func validateOrgProject(org, project string) error {
	if err := ValidateOrg(org); err != nil {
		return err
	}
	return ValidateProject(project)
}
