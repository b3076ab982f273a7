// Operator tasks are registered from their own files; see tasks/*.ts.
export {};
