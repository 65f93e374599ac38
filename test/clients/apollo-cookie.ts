// Apollo Client 4 for a front end on another origin of the gym's own site (say https://app.gym.example for the gym at
// https://gym.example, its origin listed in CORS_ORIGINS), signed in with a session: the browser keeps the HttpOnly
// cookie and sends it with every request. No token to store, attach or refresh; the page's scripts never see it.
// (A front end on another site gets no session: the cookie is SameSite=Lax. Use the keycard tokens there.)
import { ApolloClient, HttpLink, InMemoryCache, gql, type TypedDocumentNode } from '@apollo/client';

/** @param uri the gym's GraphQL endpoint, e.g. `https://gym.example/graphql` */
export function createGymClient(uri: string): ApolloClient {
  return new ApolloClient({
    // POST with content-type application/json: what the gym's CSRF prevention lets through.
    link: new HttpLink({ uri, credentials: 'include' }),
    cache: new InMemoryCache(),
  });
}

interface Member {
  id: string;
  name: string;
}

const LOGIN: TypedDocumentNode<{ login: { member: Member } }, { input: { email: string; password: string; mode: 'SESSION' } }> = gql`
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      member { id name }
    }
  }
`;

const LOGOUT: TypedDocumentNode<{ logout: boolean }, Record<string, never>> = gql`
  mutation Logout {
    logout
  }
`;

/** Signs in; the gym answers with the session cookie, which the browser keeps. Throws on a wrong password. */
export async function signIn(client: ApolloClient, email: string, password: string): Promise<Member> {
  const { data } = await client.mutate({ mutation: LOGIN, variables: { input: { email, password, mode: 'SESSION' } } });
  // Nothing cached before belongs to this member.
  await client.clearStore();
  return data!.login.member;
}

/** Ends the session on the gym (which clears the cookie), and forgets everything the member's queries cached. */
export async function signOut(client: ApolloClient): Promise<void> {
  await client.mutate({ mutation: LOGOUT });
  await client.clearStore();
}
