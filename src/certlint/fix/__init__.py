"""`certlint fix`: turn fix plans into new files and config edits (diff, --write, --patch)."""
