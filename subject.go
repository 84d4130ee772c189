package credo

// SubjectKind says whether a subject is a natural person or an organisation.
type SubjectKind uint8

// The kinds of subject.
const (
	KindUnknown SubjectKind = iota
	Person
	Org
)

func (k SubjectKind) String() string {
	switch k {
	case Person:
		return "person"
	case Org:
		return "org"
	}
	return "unknown"
}

// ParseSubjectKind parses "person" or "org".
func ParseSubjectKind(s string) (SubjectKind, bool) {
	switch s {
	case "person":
		return Person, true
	case "org":
		return Org, true
	}
	return KindUnknown, false
}

// Sex is derived from a Resident Identity Card number (odd sequence = male).
type Sex uint8

// The sexes an identifier can encode.
const (
	SexUnknown Sex = iota
	Male
	Female
)

func (s Sex) String() string {
	switch s {
	case Male:
		return "male"
	case Female:
		return "female"
	}
	return "unknown"
}
