package simulate

import (
	"time"

	"credo"
	"credo/ident"
)

// The dimensions of the breakdowns, all derived from the identifiers.
const (
	dimPersonDistrict = iota
	dimPersonAge
	dimPersonSex
	dimOrgDistrict
	dimOrgType
	numDims
)

var dimNames = [numDims]struct{ id, label string }{
	{"person.district", "Persons by district (Beijing) or province"},
	{"person.age", "Persons by age band at the instant"},
	{"person.sex", "Persons by sex"},
	{"org.district", "Organisations by district (Beijing) or province"},
	{"org.type", "Organisations by USCC registration type"},
}

// groupKeys returns the subject's group key in each dimension of its kind
// ("" for the dimensions of the other kind).
func groupKeys(id ident.ID, at time.Time, loc *time.Location, keys *[numDims]string) {
	*keys = [numDims]string{}
	switch id.Kind {
	case credo.Person:
		keys[dimPersonDistrict] = districtKey(id)
		keys[dimPersonAge] = AgeBand(id.AgeAt(at, loc))
		keys[dimPersonSex] = id.Sex.String()
	case credo.Org:
		keys[dimOrgDistrict] = districtKey(id)
		keys[dimOrgType] = orgTypeKey(id)
	}
}

// districtKey is a Beijing district's six-digit code, "11" for the rest
// of Beijing, the two-digit province code elsewhere, "passport" for
// passport holders.
func districtKey(id ident.ID) string {
	switch {
	case id.Scheme == ident.Passport:
		return "passport"
	case ident.DistrictName(id.Region) != "":
		return id.Region
	case id.ProvinceCode != "":
		return id.ProvinceCode
	}
	return "unknown"
}

func orgTypeKey(id ident.ID) string {
	if id.Scheme != ident.USCC || len(id.Canonical) < 2 {
		return "unknown"
	}
	return id.Canonical[:2]
}

// AgeBand returns the age band of an age in whole years ("unknown" for
// -1: no birth date).
func AgeBand(age int) string {
	switch {
	case age < 0:
		return "unknown"
	case age < 18:
		return "0-17"
	case age < 25:
		return "18-24"
	case age < 35:
		return "25-34"
	case age < 45:
		return "35-44"
	case age < 55:
		return "45-54"
	case age < 65:
		return "55-64"
	}
	return "65+"
}

var ageOrder = map[string]int{"0-17": 0, "18-24": 1, "25-34": 2, "35-44": 3, "45-54": 4, "55-64": 5, "65+": 6, "unknown": 7}

// groupName returns the readable name of a group key.
func groupName(dim int, key string) string {
	switch dim {
	case dimPersonDistrict, dimOrgDistrict:
		switch {
		case key == "passport":
			return "passport holders"
		case key == "unknown":
			return "unknown"
		case len(key) == 6:
			return ident.DistrictName(key)
		case key == "11":
			return "Beijing (other region codes)"
		}
		if n := ident.ProvinceName(key); n != "" {
			return n
		}
		return key
	case dimOrgType:
		return orgTypeName(key)
	}
	return key
}

// groupExcluded says why a group takes no part in disparity ratios.
func groupExcluded(dim int, key string) string {
	switch {
	case key == "unknown":
		return "group unknown"
	case dim == dimPersonAge && key == "0-17":
		return "minors: no sanction may reach them"
	}
	return ""
}

// orgTypeName names a USCC registration type: character 1 (registration
// authority) and character 2 (entity type) (GB 32100-2015, appendix A).
func orgTypeName(key string) string {
	if len(key) != 2 {
		return key
	}
	types := map[string]string{
		"11": "establishment office: government organ",
		"12": "establishment office: public institution",
		"51": "civil affairs: social organisation",
		"52": "civil affairs: private non-enterprise unit",
		"53": "civil affairs: foundation",
		"91": "market regulation: enterprise",
		"92": "market regulation: individual business",
		"93": "market regulation: farmers' cooperative",
	}
	if n, ok := types[key]; ok {
		return key + " " + n
	}
	id := ident.ID{Scheme: ident.USCC, RegAuthority: key[0]}
	if n := id.RegistrationAuthorityName(); n != "" {
		return key + " " + n + ": other"
	}
	return key
}
