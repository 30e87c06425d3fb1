/** OAuth scopes the APIs check. `customer` routes take any valid JWT; `admin` routes also need this scope. */
export const ADMIN_SCOPE = 'admin';
