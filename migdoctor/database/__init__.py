"""Everything migdoctor learns from the live database."""
