// WebAuthn between the API's JSON forms (Level 3: base64url strings) and the browser's
// ArrayBuffers. PublicKeyCredential.parse*FromJSON() and toJSON() do this where they exist;
// they are not everywhere yet, so the pages do it themselves.

/** base64url (RFC 4648 §5, unpadded, as WebAuthn's JSON forms use) to an ArrayBuffer. */
function base64urlToBuffer(value: string): ArrayBuffer {
  const base64 = value.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((value.length + 3) % 4);
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes.buffer;
}

/** An ArrayBuffer to unpadded base64url. */
function bufferToBase64url(buffer: ArrayBuffer): string {
  let binary = '';
  for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const credentialDescriptors = (list: PublicKeyCredentialDescriptorJSON[] | undefined): PublicKeyCredentialDescriptor[] =>
  (list ?? []).map((credential) => ({
    type: 'public-key',
    id: base64urlToBuffer(credential.id),
    ...(credential.transports && { transports: credential.transports as AuthenticatorTransport[] }),
  }));

/** PublicKeyCredentialCreationOptionsJSON → what navigator.credentials.create() takes. */
function creationOptionsFromJson(json: PublicKeyCredentialCreationOptionsJSON): PublicKeyCredentialCreationOptions {
  const { challenge, user, excludeCredentials, ...rest } = json;
  return {
    ...rest,
    attestation: rest.attestation as AttestationConveyancePreference | undefined,
    challenge: base64urlToBuffer(challenge),
    user: { ...user, id: base64urlToBuffer(user.id) },
    excludeCredentials: credentialDescriptors(excludeCredentials),
  } as PublicKeyCredentialCreationOptions;
}

/** PublicKeyCredentialRequestOptionsJSON → what navigator.credentials.get() takes. */
function requestOptionsFromJson(json: PublicKeyCredentialRequestOptionsJSON): PublicKeyCredentialRequestOptions {
  const { challenge, allowCredentials, ...rest } = json;
  return {
    ...rest,
    userVerification: rest.userVerification as UserVerificationRequirement | undefined,
    challenge: base64urlToBuffer(challenge),
    allowCredentials: credentialDescriptors(allowCredentials),
  } as PublicKeyCredentialRequestOptions;
}

/** A new credential as RegistrationResponseJSON (what PublicKeyCredential.toJSON() gives where it exists). */
function registrationToJson(credential: PublicKeyCredential) {
  const response = credential.response as AuthenticatorAttestationResponse;
  return {
    id: credential.id,
    rawId: bufferToBase64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: bufferToBase64url(response.clientDataJSON),
      attestationObject: bufferToBase64url(response.attestationObject),
      transports: typeof response.getTransports === 'function' ? response.getTransports() : [],
    },
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
  };
}

/** An assertion as AuthenticationResponseJSON. */
function authenticationToJson(credential: PublicKeyCredential) {
  const response = credential.response as AuthenticatorAssertionResponse;
  return {
    id: credential.id,
    rawId: bufferToBase64url(credential.rawId),
    type: credential.type,
    response: {
      clientDataJSON: bufferToBase64url(response.clientDataJSON),
      authenticatorData: bufferToBase64url(response.authenticatorData),
      signature: bufferToBase64url(response.signature),
      userHandle: response.userHandle ? bufferToBase64url(response.userHandle) : undefined,
    },
    clientExtensionResults: credential.getClientExtensionResults(),
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
  };
}

export const passkeysSupported = (): boolean => typeof window.PublicKeyCredential === 'function' && Boolean(navigator.credentials);

/** What a person reads when the browser's passkey prompt ends without a credential. */
export function passkeyFailure(error: unknown, action: string): string {
  const name = error instanceof Error ? error.name : 'unknown error';
  if (name === 'NotAllowedError') return `${action}: the request was cancelled or timed out.`;
  if (name === 'InvalidStateError') return `${action}: this device already holds a passkey for your account.`;
  if (name === 'SecurityError') return `${action}: this address cannot use passkeys (they need https, or localhost).`;
  return `${action}: your browser or device could not do it (${name}).`;
}

/** The browser's answer, or why there is none (the person cancelled, the device refused…). */
export type Ceremony<T> = { ok: true; response: T } | { ok: false; error: unknown };

/** Runs the browser's sign-in prompt for the API's options; the answer is AuthenticationResponseJSON. */
export async function getAssertion(
  options: PublicKeyCredentialRequestOptionsJSON,
): Promise<Ceremony<ReturnType<typeof authenticationToJson>>> {
  try {
    const credential = await navigator.credentials.get({ publicKey: requestOptionsFromJson(options) });
    if (!(credential instanceof PublicKeyCredential))
      return { ok: false, error: new DOMException('No passkey was given', 'NotAllowedError') };
    return { ok: true, response: authenticationToJson(credential) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Runs the browser's prompt that makes a passkey; the answer is RegistrationResponseJSON. */
export async function createCredential(
  options: PublicKeyCredentialCreationOptionsJSON,
): Promise<Ceremony<ReturnType<typeof registrationToJson>>> {
  try {
    const credential = await navigator.credentials.create({ publicKey: creationOptionsFromJson(options) });
    if (!(credential instanceof PublicKeyCredential))
      return { ok: false, error: new DOMException('No passkey was made', 'NotAllowedError') };
    return { ok: true, response: registrationToJson(credential) };
  } catch (error) {
    return { ok: false, error };
  }
}
