package main

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"credo"
	"credo/ident"
)

type idReport struct {
	Input        string `json:"input"`
	Valid        bool   `json:"valid"`
	Error        string `json:"error,omitempty"`
	Canonical    string `json:"canonical,omitempty"`
	Scheme       string `json:"scheme,omitempty"`
	Kind         string `json:"kind,omitempty"`
	Region       string `json:"region,omitempty"`
	Province     string `json:"province,omitempty"`
	District     string `json:"district,omitempty"`
	Country      string `json:"country,omitempty"`
	Birth        string `json:"birth_date,omitempty"`
	Age          *int   `json:"age,omitempty"`
	Sex          string `json:"sex,omitempty"`
	Legacy       bool   `json:"legacy,omitempty"`
	RegAuthority string `json:"registration_authority,omitempty"`
	OrgCode      string `json:"org_code,omitempty"`
	Warning      string `json:"warning,omitempty"`
}

func newIDCmd() *cobra.Command {
	var asJSON bool
	var legacyFile, kindFlag string
	cmd := &cobra.Command{
		Use:   "id CODE... [--kind person|org]",
		Short: "Validate and describe identifiers (RIC, USCC, passport P:CHN:...)",
		Long: `Validate Resident Identity Card numbers (18 characters, or 15-digit legacy
numbers), Unified Social Credit Codes and passport subjects (P:<ISO alpha-3>:<number>)
and print what they encode. Exit status 1 if any is invalid.`,
		Example: "  credo id 11010519491231002X 914403001922038216\n  credo id --json P:DEU:C01X00T47",
		Args:    cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			kind, err := parseKindFlag(kindFlag)
			if err != nil {
				return err
			}
			p := &ident.Parser{}
			if legacyFile != "" {
				m, err := loadLegacy(legacyFile)
				if err != nil {
					return err
				}
				p.LegacyUSCC = m
			}
			bad := 0
			var reports []idReport
			loc, _ := time.LoadLocation("Asia/Shanghai")
			for _, a := range args {
				rep := idReport{Input: a}
				id, err := p.ParseAs(a, kind)
				if err != nil {
					bad++
					rep.Error = credo.ErrorMessage(err)
					if ident.IsAmbiguous(err) {
						rep.Error += " (--kind person or --kind org)"
					}
				} else {
					rep.Warning = id.Warning()
					rep.Valid = true
					rep.Canonical, rep.Scheme, rep.Kind = id.Canonical, id.Scheme.String(), id.Kind.String()
					rep.Region, rep.Province, rep.District, rep.Country = id.Region, id.Province, ident.DistrictName(id.Region), id.Country
					rep.Legacy, rep.RegAuthority, rep.OrgCode = id.Legacy, id.RegistrationAuthorityName(), id.OrgCode
					if id.HasBirth() {
						rep.Birth = id.Birth.Format("2006-01-02")
						age := id.AgeAt(time.Now(), loc)
						rep.Age = &age
						rep.Sex = id.Sex.String()
					}
				}
				reports = append(reports, rep)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(reports); err != nil {
					return err
				}
			} else {
				for _, r := range reports {
					if !r.Valid {
						fmt.Fprintf(out, "%s\tINVALID\t%s\n", r.Input, r.Error)
						continue
					}
					desc := r.Kind + ", " + r.Scheme
					if r.Province != "" {
						desc += ", " + r.Province
					}
					if r.District != "" {
						desc += " " + r.District
					}
					if r.Region != "" {
						desc += " (" + r.Region + ")"
					}
					if r.Country != "" && r.Scheme == "passport" {
						desc += ", " + r.Country
					}
					if r.Birth != "" {
						desc += fmt.Sprintf(", born %s, age %d, %s", r.Birth, *r.Age, r.Sex)
					}
					if r.RegAuthority != "" {
						desc += ", registered by " + r.RegAuthority
					}
					if r.Legacy {
						desc += ", legacy"
					}
					if r.Warning != "" {
						desc += "; warning: " + r.Warning
					}
					fmt.Fprintf(out, "%s\tvalid\t%s\n", r.Canonical, desc)
				}
			}
			if bad > 0 {
				return exitError{1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().StringVar(&kindFlag, "kind", "", "the kind of subject the codes name, person or org: needed for 18 digits that read both as an ID card number and as a credit code")
	cmd.Flags().StringVar(&legacyFile, "legacy-uscc", "", "file of known legacy USCCs to accept despite a failed check (one per line)")
	return cmd
}
