// Moved to ../storageErrors.ts (shared by the SQLite and PostgreSQL stores); kept for old importers.
export * from "../storageErrors";
