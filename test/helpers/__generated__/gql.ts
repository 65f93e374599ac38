/* eslint-disable */
import * as types from './graphql.js';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation Login($input: LoginInput!) {\n    login(input: $input) {\n      method\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      refreshTokenExpiresAt\n      member { id name email role }\n    }\n  }\n": typeof types.LoginDocument,
    "mutation RefreshAfterChange($t: String!) { refresh(refreshToken: $t) { refreshToken } }": typeof types.RefreshAfterChangeDocument,
    "mutation ChangePassword($input: ChangePasswordInput!) { changePassword(input: $input) }": typeof types.ChangePasswordDocument,
    "query SignedIn { viewer { authenticated } }": typeof types.SignedInDocument,
    "query FastViewer { viewer { authenticated method } me { name } }": typeof types.FastViewerDocument,
    "\n  mutation Refresh($t: String!) {\n    refresh(refreshToken: $t) { method accessToken refreshToken refreshTokenExpiresAt member { name } }\n  }\n": typeof types.RefreshDocument,
    "query RefreshedMe { me { name } }": typeof types.RefreshedMeDocument,
    "mutation LogoutFamily($t: String) { logout(refreshToken: $t) }": typeof types.LogoutFamilyDocument,
    "mutation LogoutKeycard { logout }": typeof types.LogoutKeycardDocument,
    "mutation LogoutEverywhereByKeycard { logoutEverywhere }": typeof types.LogoutEverywhereByKeycardDocument,
    "\n  query SessionViewer {\n    viewer { authenticated method role expiresAt }\n    me { name email }\n  }\n": typeof types.SessionViewerDocument,
    "mutation SessionLogout { logout }": typeof types.SessionLogoutDocument,
    "\n  mutation SessionSignUp($input: SignUpInput!) {\n    signUp(input: $input) { method member { name email role membership { status } } }\n  }\n": typeof types.SessionSignUpDocument,
};
const documents: Documents = {
    "\n  mutation Login($input: LoginInput!) {\n    login(input: $input) {\n      method\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      refreshTokenExpiresAt\n      member { id name email role }\n    }\n  }\n": types.LoginDocument,
    "mutation RefreshAfterChange($t: String!) { refresh(refreshToken: $t) { refreshToken } }": types.RefreshAfterChangeDocument,
    "mutation ChangePassword($input: ChangePasswordInput!) { changePassword(input: $input) }": types.ChangePasswordDocument,
    "query SignedIn { viewer { authenticated } }": types.SignedInDocument,
    "query FastViewer { viewer { authenticated method } me { name } }": types.FastViewerDocument,
    "\n  mutation Refresh($t: String!) {\n    refresh(refreshToken: $t) { method accessToken refreshToken refreshTokenExpiresAt member { name } }\n  }\n": types.RefreshDocument,
    "query RefreshedMe { me { name } }": types.RefreshedMeDocument,
    "mutation LogoutFamily($t: String) { logout(refreshToken: $t) }": types.LogoutFamilyDocument,
    "mutation LogoutKeycard { logout }": types.LogoutKeycardDocument,
    "mutation LogoutEverywhereByKeycard { logoutEverywhere }": types.LogoutEverywhereByKeycardDocument,
    "\n  query SessionViewer {\n    viewer { authenticated method role expiresAt }\n    me { name email }\n  }\n": types.SessionViewerDocument,
    "mutation SessionLogout { logout }": types.SessionLogoutDocument,
    "\n  mutation SessionSignUp($input: SignUpInput!) {\n    signUp(input: $input) { method member { name email role membership { status } } }\n  }\n": types.SessionSignUpDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Login($input: LoginInput!) {\n    login(input: $input) {\n      method\n      accessToken\n      accessTokenExpiresAt\n      refreshToken\n      refreshTokenExpiresAt\n      member { id name email role }\n    }\n  }\n"): typeof import('./graphql.js').LoginDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation RefreshAfterChange($t: String!) { refresh(refreshToken: $t) { refreshToken } }"): typeof import('./graphql.js').RefreshAfterChangeDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation ChangePassword($input: ChangePasswordInput!) { changePassword(input: $input) }"): typeof import('./graphql.js').ChangePasswordDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query SignedIn { viewer { authenticated } }"): typeof import('./graphql.js').SignedInDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query FastViewer { viewer { authenticated method } me { name } }"): typeof import('./graphql.js').FastViewerDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Refresh($t: String!) {\n    refresh(refreshToken: $t) { method accessToken refreshToken refreshTokenExpiresAt member { name } }\n  }\n"): typeof import('./graphql.js').RefreshDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "query RefreshedMe { me { name } }"): typeof import('./graphql.js').RefreshedMeDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation LogoutFamily($t: String) { logout(refreshToken: $t) }"): typeof import('./graphql.js').LogoutFamilyDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation LogoutKeycard { logout }"): typeof import('./graphql.js').LogoutKeycardDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation LogoutEverywhereByKeycard { logoutEverywhere }"): typeof import('./graphql.js').LogoutEverywhereByKeycardDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SessionViewer {\n    viewer { authenticated method role expiresAt }\n    me { name email }\n  }\n"): typeof import('./graphql.js').SessionViewerDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "mutation SessionLogout { logout }"): typeof import('./graphql.js').SessionLogoutDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation SessionSignUp($input: SignUpInput!) {\n    signUp(input: $input) { method member { name email role membership { status } } }\n  }\n"): typeof import('./graphql.js').SessionSignUpDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
