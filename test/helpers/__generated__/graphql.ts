/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
/** How a request is signed in: SESSION, the front desk's access sheet (a cookie); TOKEN, a keycard (a bearer JWT). */
export type AuthMethod =
  | 'SESSION'
  | 'TOKEN';

export type ChangePasswordInput = {
  currentPassword: string;
  /** 12 to 128 characters, not one of the commonest passwords. */
  newPassword: string;
};

export type LoginInput = {
  email: string;
  mode?: AuthMethod | null | undefined;
  password: string;
};

export type MembershipStatus =
  | 'ACTIVE'
  | 'EXPIRED';

/** What a signed-in member may do; each role includes the ones below it: MEMBER < STAFF < ADMIN. */
export type Role =
  | 'ADMIN'
  | 'MEMBER'
  | 'STAFF';

export type SignUpInput = {
  email: string;
  /** How the new member comes back: TOKEN (a keycard) or SESSION (a cookie). */
  mode?: AuthMethod | null | undefined;
  name: string;
  /** 12 to 128 characters, not one of the commonest passwords. */
  password: string;
};

export type LoginMutationVariables = Exact<{
  input: LoginInput;
}>;


export type LoginMutation = { login: { method: AuthMethod, accessToken: string | null, accessTokenExpiresAt: string | null, refreshToken: string | null, refreshTokenExpiresAt: string | null, member: { id: string, name: string, email: string | null, role: Role } } };

export type RefreshAfterChangeMutationVariables = Exact<{
  t: string;
}>;


export type RefreshAfterChangeMutation = { refresh: { refreshToken: string | null } };

export type ChangePasswordMutationVariables = Exact<{
  input: ChangePasswordInput;
}>;


export type ChangePasswordMutation = { changePassword: boolean };

export type SignedInQueryVariables = Exact<{ [key: string]: never; }>;


export type SignedInQuery = { viewer: { authenticated: boolean } };

export type FastViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type FastViewerQuery = { viewer: { authenticated: boolean, method: AuthMethod | null }, me: { name: string } | null };

export type RefreshMutationVariables = Exact<{
  t: string;
}>;


export type RefreshMutation = { refresh: { method: AuthMethod, accessToken: string | null, refreshToken: string | null, refreshTokenExpiresAt: string | null, member: { name: string } } };

export type RefreshedMeQueryVariables = Exact<{ [key: string]: never; }>;


export type RefreshedMeQuery = { me: { name: string } | null };

export type LogoutFamilyMutationVariables = Exact<{
  t?: string | null | undefined;
}>;


export type LogoutFamilyMutation = { logout: boolean };

export type LogoutKeycardMutationVariables = Exact<{ [key: string]: never; }>;


export type LogoutKeycardMutation = { logout: boolean };

export type LogoutEverywhereByKeycardMutationVariables = Exact<{ [key: string]: never; }>;


export type LogoutEverywhereByKeycardMutation = { logoutEverywhere: boolean };

export type SessionViewerQueryVariables = Exact<{ [key: string]: never; }>;


export type SessionViewerQuery = { viewer: { authenticated: boolean, method: AuthMethod | null, role: Role | null, expiresAt: string | null }, me: { name: string, email: string | null } | null };

export type SessionLogoutMutationVariables = Exact<{ [key: string]: never; }>;


export type SessionLogoutMutation = { logout: boolean };

export type SessionSignUpMutationVariables = Exact<{
  input: SignUpInput;
}>;


export type SessionSignUpMutation = { signUp: { method: AuthMethod, member: { name: string, email: string | null, role: Role, membership: { status: MembershipStatus } | null } } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}

export const LoginDocument = new TypedDocumentString(`
    mutation Login($input: LoginInput!) {
  login(input: $input) {
    method
    accessToken
    accessTokenExpiresAt
    refreshToken
    refreshTokenExpiresAt
    member {
      id
      name
      email
      role
    }
  }
}
    `) as unknown as TypedDocumentString<LoginMutation, LoginMutationVariables>;
export const RefreshAfterChangeDocument = new TypedDocumentString(`
    mutation RefreshAfterChange($t: String!) {
  refresh(refreshToken: $t) {
    refreshToken
  }
}
    `) as unknown as TypedDocumentString<RefreshAfterChangeMutation, RefreshAfterChangeMutationVariables>;
export const ChangePasswordDocument = new TypedDocumentString(`
    mutation ChangePassword($input: ChangePasswordInput!) {
  changePassword(input: $input)
}
    `) as unknown as TypedDocumentString<ChangePasswordMutation, ChangePasswordMutationVariables>;
export const SignedInDocument = new TypedDocumentString(`
    query SignedIn {
  viewer {
    authenticated
  }
}
    `) as unknown as TypedDocumentString<SignedInQuery, SignedInQueryVariables>;
export const FastViewerDocument = new TypedDocumentString(`
    query FastViewer {
  viewer {
    authenticated
    method
  }
  me {
    name
  }
}
    `) as unknown as TypedDocumentString<FastViewerQuery, FastViewerQueryVariables>;
export const RefreshDocument = new TypedDocumentString(`
    mutation Refresh($t: String!) {
  refresh(refreshToken: $t) {
    method
    accessToken
    refreshToken
    refreshTokenExpiresAt
    member {
      name
    }
  }
}
    `) as unknown as TypedDocumentString<RefreshMutation, RefreshMutationVariables>;
export const RefreshedMeDocument = new TypedDocumentString(`
    query RefreshedMe {
  me {
    name
  }
}
    `) as unknown as TypedDocumentString<RefreshedMeQuery, RefreshedMeQueryVariables>;
export const LogoutFamilyDocument = new TypedDocumentString(`
    mutation LogoutFamily($t: String) {
  logout(refreshToken: $t)
}
    `) as unknown as TypedDocumentString<LogoutFamilyMutation, LogoutFamilyMutationVariables>;
export const LogoutKeycardDocument = new TypedDocumentString(`
    mutation LogoutKeycard {
  logout
}
    `) as unknown as TypedDocumentString<LogoutKeycardMutation, LogoutKeycardMutationVariables>;
export const LogoutEverywhereByKeycardDocument = new TypedDocumentString(`
    mutation LogoutEverywhereByKeycard {
  logoutEverywhere
}
    `) as unknown as TypedDocumentString<LogoutEverywhereByKeycardMutation, LogoutEverywhereByKeycardMutationVariables>;
export const SessionViewerDocument = new TypedDocumentString(`
    query SessionViewer {
  viewer {
    authenticated
    method
    role
    expiresAt
  }
  me {
    name
    email
  }
}
    `) as unknown as TypedDocumentString<SessionViewerQuery, SessionViewerQueryVariables>;
export const SessionLogoutDocument = new TypedDocumentString(`
    mutation SessionLogout {
  logout
}
    `) as unknown as TypedDocumentString<SessionLogoutMutation, SessionLogoutMutationVariables>;
export const SessionSignUpDocument = new TypedDocumentString(`
    mutation SessionSignUp($input: SignUpInput!) {
  signUp(input: $input) {
    method
    member {
      name
      email
      role
      membership {
        status
      }
    }
  }
}
    `) as unknown as TypedDocumentString<SessionSignUpMutation, SessionSignUpMutationVariables>;