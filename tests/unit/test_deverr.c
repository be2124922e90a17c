/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests: include/cmk-pkcs11.h's ulDeviceError constants are the numbers
 * the module gives: every CMK_DEVERR_<PROVIDER>_<CODE> is what that
 * provider's code_number answers for the code, every shared
 * CMK_DEVNUM_<CODE> what each provider answers when it has no number of
 * its own, the module's own numbers are util/err.h's, and the helper
 * macros split a value as util/err.c builds it. The rows below are
 * counted against the header's #define lines, so a constant added to the
 * header without a row here fails too.
 */
#include <config.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cmk-pkcs11.h"
#include "providers/provider.h"
#include "util/err.h"

struct row {
    unsigned long provider;
    const char *code;
    unsigned long value;
};

static const struct row rows[] = {
    {CMK_DEVERR_PROVIDER_LOCAL, "KeyFileMissing",
     CMK_DEVERR_LOCAL_KEY_FILE_MISSING},
    {CMK_DEVERR_PROVIDER_LOCAL, "KeyFileUnreadable",
     CMK_DEVERR_LOCAL_KEY_FILE_UNREADABLE},
    {CMK_DEVERR_PROVIDER_LOCAL, "KeyFileNotRegular",
     CMK_DEVERR_LOCAL_KEY_FILE_NOT_REGULAR},
    {CMK_DEVERR_PROVIDER_LOCAL, "KeyFileMode", CMK_DEVERR_LOCAL_KEY_FILE_MODE},
    {CMK_DEVERR_PROVIDER_LOCAL, "KeyFileSize", CMK_DEVERR_LOCAL_KEY_FILE_SIZE},
    {CMK_DEVERR_PROVIDER_LOCAL, "KeyFileUntrusted",
     CMK_DEVERR_LOCAL_KEY_FILE_UNTRUSTED},
    {CMK_DEVERR_PROVIDER_LOCAL, "KeyFileChanged",
     CMK_DEVERR_LOCAL_KEY_FILE_CHANGED},
    {CMK_DEVERR_PROVIDER_LOCAL, "InputTooLarge",
     CMK_DEVERR_LOCAL_INPUT_TOO_LARGE},
    {CMK_DEVERR_PROVIDER_LOCAL, "EncryptFailed",
     CMK_DEVERR_LOCAL_ENCRYPT_FAILED},
    {CMK_DEVERR_PROVIDER_LOCAL, "InvalidCiphertext",
     CMK_DEVERR_LOCAL_INVALID_CIPHERTEXT},
    {CMK_DEVERR_PROVIDER_LOCAL, "UnsupportedKeySpec",
     CMK_DEVERR_LOCAL_UNSUPPORTED_KEY_SPEC},
    {CMK_DEVERR_PROVIDER_LOCAL, "InvalidKeyUsage",
     CMK_DEVERR_LOCAL_INVALID_KEY_USAGE},
    {CMK_DEVERR_PROVIDER_LOCAL, "SignFailed", CMK_DEVERR_LOCAL_SIGN_FAILED},
    {CMK_DEVERR_PROVIDER_AWS, "DisabledException",
     CMK_DEVERR_AWS_DISABLED_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "KMSInvalidStateException",
     CMK_DEVERR_AWS_KMS_INVALID_STATE_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "NotFoundException",
     CMK_DEVERR_AWS_NOT_FOUND_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "AccessDeniedException",
     CMK_DEVERR_AWS_ACCESS_DENIED_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "UnrecognizedClientException",
     CMK_DEVERR_AWS_UNRECOGNIZED_CLIENT_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "ExpiredTokenException",
     CMK_DEVERR_AWS_EXPIRED_TOKEN_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "InvalidSignatureException",
     CMK_DEVERR_AWS_INVALID_SIGNATURE_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "IncompleteSignatureException",
     CMK_DEVERR_AWS_INCOMPLETE_SIGNATURE_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "MissingAuthenticationTokenException",
     CMK_DEVERR_AWS_MISSING_AUTHENTICATION_TOKEN_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "InvalidKeyUsageException",
     CMK_DEVERR_AWS_INVALID_KEY_USAGE_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "InvalidGrantTokenException",
     CMK_DEVERR_AWS_INVALID_GRANT_TOKEN_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "InvalidCiphertextException",
     CMK_DEVERR_AWS_INVALID_CIPHERTEXT_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "IncorrectKeyException",
     CMK_DEVERR_AWS_INCORRECT_KEY_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "ThrottlingException",
     CMK_DEVERR_AWS_THROTTLING_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "Throttling", CMK_DEVERR_AWS_THROTTLING},
    {CMK_DEVERR_PROVIDER_AWS, "ThrottledException",
     CMK_DEVERR_AWS_THROTTLED_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "RequestThrottledException",
     CMK_DEVERR_AWS_REQUEST_THROTTLED_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "TooManyRequestsException",
     CMK_DEVERR_AWS_TOO_MANY_REQUESTS_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "LimitExceededException",
     CMK_DEVERR_AWS_LIMIT_EXCEEDED_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "RequestLimitExceeded",
     CMK_DEVERR_AWS_REQUEST_LIMIT_EXCEEDED},
    {CMK_DEVERR_PROVIDER_AWS, "SlowDown", CMK_DEVERR_AWS_SLOW_DOWN},
    {CMK_DEVERR_PROVIDER_AWS, "KMSInternalException",
     CMK_DEVERR_AWS_KMS_INTERNAL_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "KeyUnavailableException",
     CMK_DEVERR_AWS_KEY_UNAVAILABLE_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "DependencyTimeoutException",
     CMK_DEVERR_AWS_DEPENDENCY_TIMEOUT_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "RequestTimeout", CMK_DEVERR_AWS_REQUEST_TIMEOUT},
    {CMK_DEVERR_PROVIDER_AWS, "RequestTimeoutException",
     CMK_DEVERR_AWS_REQUEST_TIMEOUT_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "PriorRequestNotComplete",
     CMK_DEVERR_AWS_PRIOR_REQUEST_NOT_COMPLETE},
    {CMK_DEVERR_PROVIDER_AWS, "ValidationException",
     CMK_DEVERR_AWS_VALIDATION_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "SerializationException",
     CMK_DEVERR_AWS_SERIALIZATION_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "UnknownOperationException",
     CMK_DEVERR_AWS_UNKNOWN_OPERATION_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "DryRunOperationException",
     CMK_DEVERR_AWS_DRY_RUN_OPERATION_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "UnsupportedOperationException",
     CMK_DEVERR_AWS_UNSUPPORTED_OPERATION_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "ExpiredImportTokenException",
     CMK_DEVERR_AWS_EXPIRED_IMPORT_TOKEN_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "InvalidImportTokenException",
     CMK_DEVERR_AWS_INVALID_IMPORT_TOKEN_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "IncorrectKeyMaterialException",
     CMK_DEVERR_AWS_INCORRECT_KEY_MATERIAL_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "InvalidArnException",
     CMK_DEVERR_AWS_INVALID_ARN_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "PlaintextTooLarge",
     CMK_DEVERR_AWS_PLAINTEXT_TOO_LARGE},
    {CMK_DEVERR_PROVIDER_AWS, "DataKeyLength", CMK_DEVERR_AWS_DATA_KEY_LENGTH},
    {CMK_DEVERR_PROVIDER_AWS, "UnexpectedKeyId",
     CMK_DEVERR_AWS_UNEXPECTED_KEY_ID},
    {CMK_DEVERR_PROVIDER_AWS, "NotExternalKey",
     CMK_DEVERR_AWS_NOT_EXTERNAL_KEY},
    {CMK_DEVERR_PROVIDER_AWS, "CredentialsFileUnusable",
     CMK_DEVERR_AWS_CREDENTIALS_FILE_UNUSABLE},
    {CMK_DEVERR_PROVIDER_AWS, "CredentialsFileMalformed",
     CMK_DEVERR_AWS_CREDENTIALS_FILE_MALFORMED},
    {CMK_DEVERR_PROVIDER_AWS, "PartialCredentials",
     CMK_DEVERR_AWS_PARTIAL_CREDENTIALS},
    {CMK_DEVERR_PROVIDER_AWS, "ProfileNotFound",
     CMK_DEVERR_AWS_PROFILE_NOT_FOUND},
    {CMK_DEVERR_PROVIDER_AWS, "UnsupportedProfile",
     CMK_DEVERR_AWS_UNSUPPORTED_PROFILE},
    {CMK_DEVERR_PROVIDER_AWS, "SharedFileUnusable",
     CMK_DEVERR_AWS_SHARED_FILE_UNUSABLE},
    {CMK_DEVERR_PROVIDER_AWS, "WebIdentityTokenUnreadable",
     CMK_DEVERR_AWS_WEB_IDENTITY_TOKEN_UNREADABLE},
    {CMK_DEVERR_PROVIDER_AWS, "WebIdentityTokenEmpty",
     CMK_DEVERR_AWS_WEB_IDENTITY_TOKEN_EMPTY},
    {CMK_DEVERR_PROVIDER_AWS, "StsMalformed", CMK_DEVERR_AWS_STS_MALFORMED},
    {CMK_DEVERR_PROVIDER_AWS, "ContainerTokenUnusable",
     CMK_DEVERR_AWS_CONTAINER_TOKEN_UNUSABLE},
    {CMK_DEVERR_PROVIDER_AWS, "ContainerCredentialsRefused",
     CMK_DEVERR_AWS_CONTAINER_CREDENTIALS_REFUSED},
    {CMK_DEVERR_PROVIDER_AWS, "ContainerCredentialsMalformed",
     CMK_DEVERR_AWS_CONTAINER_CREDENTIALS_MALFORMED},
    {CMK_DEVERR_PROVIDER_AWS, "ImdsRefused", CMK_DEVERR_AWS_IMDS_REFUSED},
    {CMK_DEVERR_PROVIDER_AWS, "ImdsNoToken", CMK_DEVERR_AWS_IMDS_NO_TOKEN},
    {CMK_DEVERR_PROVIDER_AWS, "ImdsNoRole", CMK_DEVERR_AWS_IMDS_NO_ROLE},
    {CMK_DEVERR_PROVIDER_AWS, "ImdsMalformed", CMK_DEVERR_AWS_IMDS_MALFORMED},
    {CMK_DEVERR_PROVIDER_AWS, "InvalidIdentityToken",
     CMK_DEVERR_AWS_INVALID_IDENTITY_TOKEN},
    {CMK_DEVERR_PROVIDER_AWS, "IDPCommunicationError",
     CMK_DEVERR_AWS_IDP_COMMUNICATION_ERROR},
    {CMK_DEVERR_PROVIDER_AWS, "IDPRejectedClaim",
     CMK_DEVERR_AWS_IDP_REJECTED_CLAIM},
    {CMK_DEVERR_PROVIDER_AWS, "AccessDenied", CMK_DEVERR_AWS_ACCESS_DENIED},
    {CMK_DEVERR_PROVIDER_AWS, "ValidationError",
     CMK_DEVERR_AWS_VALIDATION_ERROR},
    {CMK_DEVERR_PROVIDER_AWS, "RegionDisabledException",
     CMK_DEVERR_AWS_REGION_DISABLED_EXCEPTION},
    {CMK_DEVERR_PROVIDER_AWS, "KeyState:Disabled",
     CMK_DEVERR_AWS_KEY_STATE_DISABLED},
    {CMK_DEVERR_PROVIDER_AWS, "KeyState:PendingDeletion",
     CMK_DEVERR_AWS_KEY_STATE_PENDING_DELETION},
    {CMK_DEVERR_PROVIDER_AWS, "KeyState:PendingImport",
     CMK_DEVERR_AWS_KEY_STATE_PENDING_IMPORT},
    {CMK_DEVERR_PROVIDER_AWS, "KeyState:PendingReplicaDeletion",
     CMK_DEVERR_AWS_KEY_STATE_PENDING_REPLICA_DELETION},
    {CMK_DEVERR_PROVIDER_AWS, "KeyState:Unavailable",
     CMK_DEVERR_AWS_KEY_STATE_UNAVAILABLE},
    {CMK_DEVERR_PROVIDER_AWS, "KeyState:Creating",
     CMK_DEVERR_AWS_KEY_STATE_CREATING},
    {CMK_DEVERR_PROVIDER_AWS, "KeyState:Updating",
     CMK_DEVERR_AWS_KEY_STATE_UPDATING},
    {CMK_DEVERR_PROVIDER_AWS, "WrongKeySpec", CMK_DEVERR_AWS_WRONG_KEY_SPEC},
    {CMK_DEVERR_PROVIDER_AWS, "WrongKeyUsage", CMK_DEVERR_AWS_WRONG_KEY_USAGE},
    {CMK_DEVERR_PROVIDER_GCP, "CANCELLED", CMK_DEVERR_GCP_CANCELLED},
    {CMK_DEVERR_PROVIDER_GCP, "UNKNOWN", CMK_DEVERR_GCP_UNKNOWN},
    {CMK_DEVERR_PROVIDER_GCP, "INVALID_ARGUMENT",
     CMK_DEVERR_GCP_INVALID_ARGUMENT},
    {CMK_DEVERR_PROVIDER_GCP, "DEADLINE_EXCEEDED",
     CMK_DEVERR_GCP_DEADLINE_EXCEEDED},
    {CMK_DEVERR_PROVIDER_GCP, "NOT_FOUND", CMK_DEVERR_GCP_NOT_FOUND},
    {CMK_DEVERR_PROVIDER_GCP, "ALREADY_EXISTS", CMK_DEVERR_GCP_ALREADY_EXISTS},
    {CMK_DEVERR_PROVIDER_GCP, "PERMISSION_DENIED",
     CMK_DEVERR_GCP_PERMISSION_DENIED},
    {CMK_DEVERR_PROVIDER_GCP, "RESOURCE_EXHAUSTED",
     CMK_DEVERR_GCP_RESOURCE_EXHAUSTED},
    {CMK_DEVERR_PROVIDER_GCP, "FAILED_PRECONDITION",
     CMK_DEVERR_GCP_FAILED_PRECONDITION},
    {CMK_DEVERR_PROVIDER_GCP, "ABORTED", CMK_DEVERR_GCP_ABORTED},
    {CMK_DEVERR_PROVIDER_GCP, "OUT_OF_RANGE", CMK_DEVERR_GCP_OUT_OF_RANGE},
    {CMK_DEVERR_PROVIDER_GCP, "UNIMPLEMENTED", CMK_DEVERR_GCP_UNIMPLEMENTED},
    {CMK_DEVERR_PROVIDER_GCP, "INTERNAL", CMK_DEVERR_GCP_INTERNAL},
    {CMK_DEVERR_PROVIDER_GCP, "UNAVAILABLE", CMK_DEVERR_GCP_UNAVAILABLE},
    {CMK_DEVERR_PROVIDER_GCP, "DATA_LOSS", CMK_DEVERR_GCP_DATA_LOSS},
    {CMK_DEVERR_PROVIDER_GCP, "UNAUTHENTICATED",
     CMK_DEVERR_GCP_UNAUTHENTICATED},
    {CMK_DEVERR_PROVIDER_GCP, "TooLarge", CMK_DEVERR_GCP_TOO_LARGE},
    {CMK_DEVERR_PROVIDER_GCP, "IntegrityMismatch",
     CMK_DEVERR_GCP_INTEGRITY_MISMATCH},
    {CMK_DEVERR_PROVIDER_GCP, "UnexpectedKeyVersion",
     CMK_DEVERR_GCP_UNEXPECTED_KEY_VERSION},
    {CMK_DEVERR_PROVIDER_GCP, "CiphertextTooLong",
     CMK_DEVERR_GCP_CIPHERTEXT_TOO_LONG},
    {CMK_DEVERR_PROVIDER_GCP, "GcpCredentialFile",
     CMK_DEVERR_GCP_GCP_CREDENTIAL_FILE},
    {CMK_DEVERR_PROVIDER_GCP, "UnsupportedCredentialType",
     CMK_DEVERR_GCP_UNSUPPORTED_CREDENTIAL_TYPE},
    {CMK_DEVERR_PROVIDER_GCP, "GcpPrivateKey", CMK_DEVERR_GCP_GCP_PRIVATE_KEY},
    {CMK_DEVERR_PROVIDER_GCP, "GcpTokenRefused",
     CMK_DEVERR_GCP_GCP_TOKEN_REFUSED},
    {CMK_DEVERR_PROVIDER_GCP, "GcpTokenMalformed",
     CMK_DEVERR_GCP_GCP_TOKEN_MALFORMED},
    {CMK_DEVERR_PROVIDER_GCP, "MetadataHost", CMK_DEVERR_GCP_METADATA_HOST},
    {CMK_DEVERR_PROVIDER_GCP, "MetadataRefused",
     CMK_DEVERR_GCP_METADATA_REFUSED},
    {CMK_DEVERR_PROVIDER_GCP, "MetadataNotGoogle",
     CMK_DEVERR_GCP_METADATA_NOT_GOOGLE},
    {CMK_DEVERR_PROVIDER_GCP, "ImpersonationMalformed",
     CMK_DEVERR_GCP_IMPERSONATION_MALFORMED},
    {CMK_DEVERR_PROVIDER_GCP, "ImpersonationRefused",
     CMK_DEVERR_GCP_IMPERSONATION_REFUSED},
    {CMK_DEVERR_PROVIDER_GCP, "SubjectTokenEmpty",
     CMK_DEVERR_GCP_SUBJECT_TOKEN_EMPTY},
    {CMK_DEVERR_PROVIDER_GCP, "SubjectTokenMalformed",
     CMK_DEVERR_GCP_SUBJECT_TOKEN_MALFORMED},
    {CMK_DEVERR_PROVIDER_GCP, "SubjectTokenRefused",
     CMK_DEVERR_GCP_SUBJECT_TOKEN_REFUSED},
    {CMK_DEVERR_PROVIDER_GCP, "SubjectTokenUnreadable",
     CMK_DEVERR_GCP_SUBJECT_TOKEN_UNREADABLE},
    {CMK_DEVERR_PROVIDER_GCP, "UnsupportedCredentialSource",
     CMK_DEVERR_GCP_UNSUPPORTED_CREDENTIAL_SOURCE},
    {CMK_DEVERR_PROVIDER_GCP, "invalid_request",
     CMK_DEVERR_GCP_INVALID_REQUEST},
    {CMK_DEVERR_PROVIDER_GCP, "invalid_client", CMK_DEVERR_GCP_INVALID_CLIENT},
    {CMK_DEVERR_PROVIDER_GCP, "invalid_grant", CMK_DEVERR_GCP_INVALID_GRANT},
    {CMK_DEVERR_PROVIDER_GCP, "unauthorized_client",
     CMK_DEVERR_GCP_UNAUTHORIZED_CLIENT},
    {CMK_DEVERR_PROVIDER_GCP, "unsupported_grant_type",
     CMK_DEVERR_GCP_UNSUPPORTED_GRANT_TYPE},
    {CMK_DEVERR_PROVIDER_GCP, "invalid_scope", CMK_DEVERR_GCP_INVALID_SCOPE},
    {CMK_DEVERR_PROVIDER_GCP, "invalid_target", CMK_DEVERR_GCP_INVALID_TARGET},
    {CMK_DEVERR_PROVIDER_GCP, "State:UNSPECIFIED",
     CMK_DEVERR_GCP_STATE_UNSPECIFIED},
    {CMK_DEVERR_PROVIDER_GCP, "State:DISABLED", CMK_DEVERR_GCP_STATE_DISABLED},
    {CMK_DEVERR_PROVIDER_GCP, "State:DESTROYED",
     CMK_DEVERR_GCP_STATE_DESTROYED},
    {CMK_DEVERR_PROVIDER_GCP, "State:DESTROY_SCHEDULED",
     CMK_DEVERR_GCP_STATE_DESTROY_SCHEDULED},
    {CMK_DEVERR_PROVIDER_GCP, "State:PENDING_GENERATION",
     CMK_DEVERR_GCP_STATE_PENDING_GENERATION},
    {CMK_DEVERR_PROVIDER_GCP, "State:PENDING_IMPORT",
     CMK_DEVERR_GCP_STATE_PENDING_IMPORT},
    {CMK_DEVERR_PROVIDER_GCP, "State:IMPORT_FAILED",
     CMK_DEVERR_GCP_STATE_IMPORT_FAILED},
    {CMK_DEVERR_PROVIDER_GCP, "State:GENERATION_FAILED",
     CMK_DEVERR_GCP_STATE_GENERATION_FAILED},
    {CMK_DEVERR_PROVIDER_GCP, "State:PENDING_EXTERNAL_DESTRUCTION",
     CMK_DEVERR_GCP_STATE_PENDING_EXTERNAL_DESTRUCTION},
    {CMK_DEVERR_PROVIDER_GCP, "State:EXTERNAL_DESTRUCTION_FAILED",
     CMK_DEVERR_GCP_STATE_EXTERNAL_DESTRUCTION_FAILED},
    {CMK_DEVERR_PROVIDER_GCP, "WrongPurpose", CMK_DEVERR_GCP_WRONG_PURPOSE},
    {CMK_DEVERR_PROVIDER_AZURE, "TooLarge", CMK_DEVERR_AZURE_TOO_LARGE},
    {CMK_DEVERR_PROVIDER_AZURE, "UnexpectedKeyId",
     CMK_DEVERR_AZURE_UNEXPECTED_KEY_ID},
    {CMK_DEVERR_PROVIDER_AZURE, "CiphertextLength",
     CMK_DEVERR_AZURE_CIPHERTEXT_LENGTH},
    {CMK_DEVERR_PROVIDER_AZURE, "PlaintextLength",
     CMK_DEVERR_AZURE_PLAINTEXT_LENGTH},
    {CMK_DEVERR_PROVIDER_AZURE, "UnexpectedKeyLength",
     CMK_DEVERR_AZURE_UNEXPECTED_KEY_LENGTH},
    {CMK_DEVERR_PROVIDER_AZURE, "BlobMalformed",
     CMK_DEVERR_AZURE_BLOB_MALFORMED},
    {CMK_DEVERR_PROVIDER_AZURE, "SealedByMissing",
     CMK_DEVERR_AZURE_SEALED_BY_MISSING},
    {CMK_DEVERR_PROVIDER_AZURE, "ContextMismatch",
     CMK_DEVERR_AZURE_CONTEXT_MISMATCH},
    {CMK_DEVERR_PROVIDER_AZURE, "LocalWrapFailed",
     CMK_DEVERR_AZURE_LOCAL_WRAP_FAILED},
    {CMK_DEVERR_PROVIDER_AZURE, "SealedByMismatch",
     CMK_DEVERR_AZURE_SEALED_BY_MISMATCH},
    {CMK_DEVERR_PROVIDER_AZURE, "ChallengeMalformed",
     CMK_DEVERR_AZURE_CHALLENGE_MALFORMED},
    {CMK_DEVERR_PROVIDER_AZURE, "ChallengeResourceMismatch",
     CMK_DEVERR_AZURE_CHALLENGE_RESOURCE_MISMATCH},
    {CMK_DEVERR_PROVIDER_AZURE, "KeyIdTooLong",
     CMK_DEVERR_AZURE_KEY_ID_TOO_LONG},
    {CMK_DEVERR_PROVIDER_AZURE, "TenantMismatch",
     CMK_DEVERR_AZURE_TENANT_MISMATCH},
    {CMK_DEVERR_PROVIDER_AZURE, "TooManyTenants",
     CMK_DEVERR_AZURE_TOO_MANY_TENANTS},
    {CMK_DEVERR_PROVIDER_AZURE, "ChallengeTooLong",
     CMK_DEVERR_AZURE_CHALLENGE_TOO_LONG},
    {CMK_DEVERR_PROVIDER_AZURE, "Unauthorized", CMK_DEVERR_AZURE_UNAUTHORIZED},
    {CMK_DEVERR_PROVIDER_AZURE, "Forbidden", CMK_DEVERR_AZURE_FORBIDDEN},
    {CMK_DEVERR_PROVIDER_AZURE, "ForbiddenByRbac",
     CMK_DEVERR_AZURE_FORBIDDEN_BY_RBAC},
    {CMK_DEVERR_PROVIDER_AZURE, "ForbiddenByPolicy",
     CMK_DEVERR_AZURE_FORBIDDEN_BY_POLICY},
    {CMK_DEVERR_PROVIDER_AZURE, "KeyDisabled", CMK_DEVERR_AZURE_KEY_DISABLED},
    {CMK_DEVERR_PROVIDER_AZURE, "KeyExpired", CMK_DEVERR_AZURE_KEY_EXPIRED},
    {CMK_DEVERR_PROVIDER_AZURE, "KeyNotYetValid",
     CMK_DEVERR_AZURE_KEY_NOT_YET_VALID},
    {CMK_DEVERR_PROVIDER_AZURE, "KeyOperationForbidden",
     CMK_DEVERR_AZURE_KEY_OPERATION_FORBIDDEN},
    {CMK_DEVERR_PROVIDER_AZURE, "KeyNotFound", CMK_DEVERR_AZURE_KEY_NOT_FOUND},
    {CMK_DEVERR_PROVIDER_AZURE, "VaultNotFound",
     CMK_DEVERR_AZURE_VAULT_NOT_FOUND},
    {CMK_DEVERR_PROVIDER_AZURE, "NotFound", CMK_DEVERR_AZURE_NOT_FOUND},
    {CMK_DEVERR_PROVIDER_AZURE, "BadParameter", CMK_DEVERR_AZURE_BAD_PARAMETER},
    {CMK_DEVERR_PROVIDER_AZURE, "Conflict", CMK_DEVERR_AZURE_CONFLICT},
    {CMK_DEVERR_PROVIDER_AZURE, "Throttled", CMK_DEVERR_AZURE_THROTTLED},
    {CMK_DEVERR_PROVIDER_AZURE, "InternalServerError",
     CMK_DEVERR_AZURE_INTERNAL_SERVER_ERROR},
    {CMK_DEVERR_PROVIDER_AZURE, "ServiceUnavailable",
     CMK_DEVERR_AZURE_SERVICE_UNAVAILABLE},
    {CMK_DEVERR_PROVIDER_AZURE, "WrongKeyType",
     CMK_DEVERR_AZURE_WRONG_KEY_TYPE},
    {CMK_DEVERR_PROVIDER_AZURE, "KeyOperationsMissing",
     CMK_DEVERR_AZURE_KEY_OPERATIONS_MISSING},
    {CMK_DEVERR_PROVIDER_VAULT, "TooLarge", CMK_DEVERR_VAULT_TOO_LARGE},
    {CMK_DEVERR_PROVIDER_VAULT, "BlobMalformed",
     CMK_DEVERR_VAULT_BLOB_MALFORMED},
    {CMK_DEVERR_PROVIDER_VAULT, "SealedByMismatch",
     CMK_DEVERR_VAULT_SEALED_BY_MISMATCH},
    {CMK_DEVERR_PROVIDER_VAULT, "KeyIdTooLong",
     CMK_DEVERR_VAULT_KEY_ID_TOO_LONG},
    {CMK_DEVERR_PROVIDER_VAULT, "ContextNotBindable",
     CMK_DEVERR_VAULT_CONTEXT_NOT_BINDABLE},
    {CMK_DEVERR_PROVIDER_VAULT, "AssociatedDataIgnored",
     CMK_DEVERR_VAULT_ASSOCIATED_DATA_IGNORED},
    {CMK_DEVERR_PROVIDER_VAULT, "RedirectRefused",
     CMK_DEVERR_VAULT_REDIRECT_REFUSED},
    {CMK_DEVERR_PROVIDER_VAULT, "TooManyRedirects",
     CMK_DEVERR_VAULT_TOO_MANY_REDIRECTS},
    {CMK_DEVERR_PROVIDER_VAULT, "TokenFileUnusable",
     CMK_DEVERR_VAULT_TOKEN_FILE_UNUSABLE},
    {CMK_DEVERR_PROVIDER_VAULT, "TokenFileMalformed",
     CMK_DEVERR_VAULT_TOKEN_FILE_MALFORMED},
    {CMK_DEVERR_PROVIDER_VAULT, "LoginFileUnusable",
     CMK_DEVERR_VAULT_LOGIN_FILE_UNUSABLE},
    {CMK_DEVERR_PROVIDER_VAULT, "LoginRefused", CMK_DEVERR_VAULT_LOGIN_REFUSED},
    {CMK_DEVERR_PROVIDER_VAULT, "LoginAnswerMalformed",
     CMK_DEVERR_VAULT_LOGIN_ANSWER_MALFORMED},
    {CMK_DEVERR_PROVIDER_VAULT, "VaultUnavailable",
     CMK_DEVERR_VAULT_VAULT_UNAVAILABLE},
    {CMK_DEVERR_PROVIDER_VAULT, "AuthEndpointError",
     CMK_DEVERR_VAULT_AUTH_ENDPOINT_ERROR},
    {CMK_DEVERR_PROVIDER_VAULT, "AuthEndpointUnreachable",
     CMK_DEVERR_VAULT_AUTH_ENDPOINT_UNREACHABLE},
    {CMK_DEVERR_PROVIDER_VAULT, "PermissionDenied",
     CMK_DEVERR_VAULT_PERMISSION_DENIED},
    {CMK_DEVERR_PROVIDER_VAULT, "InvalidToken", CMK_DEVERR_VAULT_INVALID_TOKEN},
    {CMK_DEVERR_PROVIDER_VAULT, "KeyNotFound", CMK_DEVERR_VAULT_KEY_NOT_FOUND},
    {CMK_DEVERR_PROVIDER_VAULT, "RouteNotFound",
     CMK_DEVERR_VAULT_ROUTE_NOT_FOUND},
    {CMK_DEVERR_PROVIDER_VAULT, "AuthenticationFailed",
     CMK_DEVERR_VAULT_AUTHENTICATION_FAILED},
    {CMK_DEVERR_PROVIDER_VAULT, "InvalidCiphertext",
     CMK_DEVERR_VAULT_INVALID_CIPHERTEXT},
    {CMK_DEVERR_PROVIDER_VAULT, "VersionDisallowed",
     CMK_DEVERR_VAULT_VERSION_DISALLOWED},
    {CMK_DEVERR_PROVIDER_VAULT, "ContextRequired",
     CMK_DEVERR_VAULT_CONTEXT_REQUIRED},
    {CMK_DEVERR_PROVIDER_VAULT, "AssociatedDataRefused",
     CMK_DEVERR_VAULT_ASSOCIATED_DATA_REFUSED},
    {CMK_DEVERR_PROVIDER_VAULT, "BadRequest", CMK_DEVERR_VAULT_BAD_REQUEST},
    {CMK_DEVERR_PROVIDER_VAULT, "UnsupportedOperation",
     CMK_DEVERR_VAULT_UNSUPPORTED_OPERATION},
    {CMK_DEVERR_PROVIDER_VAULT, "IndexNotPresent",
     CMK_DEVERR_VAULT_INDEX_NOT_PRESENT},
    {CMK_DEVERR_PROVIDER_VAULT, "RateLimited", CMK_DEVERR_VAULT_RATE_LIMITED},
    {CMK_DEVERR_PROVIDER_VAULT, "InternalError",
     CMK_DEVERR_VAULT_INTERNAL_ERROR},
    {CMK_DEVERR_PROVIDER_VAULT, "NotInitialized",
     CMK_DEVERR_VAULT_NOT_INITIALIZED},
    {CMK_DEVERR_PROVIDER_VAULT, "Sealed", CMK_DEVERR_VAULT_SEALED},
    {CMK_DEVERR_PROVIDER_VAULT, "Standby", CMK_DEVERR_VAULT_STANDBY},
    {CMK_DEVERR_PROVIDER_VAULT, "WrongKeyType",
     CMK_DEVERR_VAULT_WRONG_KEY_TYPE},
    {CMK_DEVERR_PROVIDER_VAULT, "EncryptionNotSupported",
     CMK_DEVERR_VAULT_ENCRYPTION_NOT_SUPPORTED},
    {CMK_DEVERR_PROVIDER_VAULT, "DecryptionNotSupported",
     CMK_DEVERR_VAULT_DECRYPTION_NOT_SUPPORTED},
    {CMK_DEVERR_PROVIDER_AWS, "KeyState:SomethingNew",
     CMK_DEVERR_AWS_KEY_STATE_OTHER},
};

static const struct {
    const char *code;
    unsigned long num;
} shared[] = {
    {"MalformedResponse", CMK_DEVNUM_MALFORMED_RESPONSE},
    {"NetworkError", CMK_DEVNUM_NETWORK_ERROR},
    {"Timeout", CMK_DEVNUM_TIMEOUT},
    {"TlsError", CMK_DEVNUM_TLS_ERROR},
    {"ResponseTooLarge", CMK_DEVNUM_RESPONSE_TOO_LARGE},
    {"EndpointRefused", CMK_DEVNUM_ENDPOINT_REFUSED},
    {"ClientError", CMK_DEVNUM_CLIENT_ERROR},
    {"CiphertextLength", CMK_DEVNUM_CIPHERTEXT_LENGTH},
    {"SealedByOtherKey", CMK_DEVNUM_SEALED_BY_OTHER_KEY},
    {"SealedByInvalid", CMK_DEVNUM_SEALED_BY_INVALID},
    {"NoCredentials", CMK_DEVNUM_NO_CREDENTIALS},
    {"CredentialEndpointTimeout", CMK_DEVNUM_CREDENTIAL_ENDPOINT_TIMEOUT},
    {"CredentialEndpointTls", CMK_DEVNUM_CREDENTIAL_ENDPOINT_TLS},
    {"CredentialEndpointUnreachable",
     CMK_DEVNUM_CREDENTIAL_ENDPOINT_UNREACHABLE},
};

static const char *const names[] = {"",    "local", "aws",
                                    "gcp", "azure", "vault"};

static const struct cmk_provider_ops *find(unsigned long provider)
{
    const struct cmk_provider_ops *ops;

    assert_true(provider >= 1 && provider <= 5);
    ops = cmk_provider_find(names[provider]);
    assert_non_null(ops);
    assert_non_null(ops->code_number);
    assert_int_equal(ops->id, provider);
    return ops;
}

static void test_provider_codes(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        const struct cmk_provider_ops *ops = find(rows[i].provider);

        if (CMK_DEVERR_PROVIDER(rows[i].value) != rows[i].provider ||
            ops->code_number(rows[i].code) != CMK_DEVERR_NUMBER(rows[i].value))
            fail_msg("%s %s: header 0x%lX, module 0x%lX",
                     names[rows[i].provider], rows[i].code, rows[i].value,
                     CMK_DEVERR_MAKE(rows[i].provider,
                                     ops->code_number(rows[i].code)));
    }
}

/* The shared numbers: what every provider but local (which makes no
 * network call) answers, unless it has a row of its own for the code. */
static bool has_own(unsigned long provider, const char *code)
{
    size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        if (rows[i].provider == provider && strcmp(rows[i].code, code) == 0)
            return true;
    }
    return false;
}

static void test_shared_codes(void **state)
{
    unsigned long p;
    size_t i;

    (void)state;
    for (p = CMK_DEVERR_PROVIDER_AWS; p <= CMK_DEVERR_PROVIDER_VAULT; p++) {
        const struct cmk_provider_ops *ops = find(p);

        for (i = 0; i < sizeof(shared) / sizeof(shared[0]); i++) {
            if (has_own(p, shared[i].code))
                continue;
            if (ops->code_number(shared[i].code) != shared[i].num)
                fail_msg("%s %s: header %lu, module %u", names[p],
                         shared[i].code, shared[i].num,
                         ops->code_number(shared[i].code));
        }
        assert_int_equal(ops->code_number("HTTP503"), CMK_DEVNUM_HTTP(503));
        assert_int_equal(ops->code_number("NoSuchCodeAnywhere"),
                         CMK_DEVNUM_OTHER);
    }
    assert_int_equal(find(CMK_DEVERR_PROVIDER_GCP)
                         ->code_number("Impersonation:PERMISSION_DENIED"),
                     CMK_DEVERR_NUMBER(CMK_DEVERR_GCP_IMPERSONATION(7)));
    assert_int_equal(CMK_DEVERR_GCP_IMPERSONATION(7), 0x30197);
}

/* The module's own numbers, and the value util/err.c builds. */
static void test_own_numbers_and_helpers(void **state)
{
    CK_ULONG v = 0;

    (void)state;
    assert_int_equal(CMK_DEV_OTHER, CMK_DEVNUM_OTHER);
    assert_int_equal(CMK_DEV_KEK_LENGTH, CMK_DEVNUM_KEK_LENGTH);
    assert_int_equal(CMK_DEV_BREAKER, CMK_DEVNUM_BREAKER);
    assert_int_equal(CMK_PROV_LOCAL, CMK_DEVERR_PROVIDER_LOCAL);
    assert_int_equal(CMK_PROV_AWS, CMK_DEVERR_PROVIDER_AWS);
    assert_int_equal(CMK_PROV_GCP, CMK_DEVERR_PROVIDER_GCP);
    assert_int_equal(CMK_PROV_AZURE, CMK_DEVERR_PROVIDER_AZURE);
    assert_int_equal(CMK_PROV_VAULT, CMK_DEVERR_PROVIDER_VAULT);

    cmk_err_device_begin();
    cmk_err_device_note(CMK_PROV_AWS, CMK_DEV_BREAKER | CMK_HEALTH_DISABLED);
    assert_true(cmk_err_device_take(&v));
    assert_int_equal(v, 0x2F101);
    assert_int_equal(CMK_DEVERR_PROVIDER(v), CMK_DEVERR_PROVIDER_AWS);
    assert_int_equal(CMK_DEVERR_NUMBER(v), 0xF101);
    assert_true(CMK_DEVERR_IS_BREAKER(v));
    assert_int_equal(CMK_DEVERR_BREAKER_REASON(v), CMK_HEALTH_DISABLED);

    cmk_err_device_begin();
    cmk_err_device_note(CMK_PROV_LOCAL, 1);
    assert_true(cmk_err_device_take(&v));
    assert_int_equal(v, CMK_DEVERR_LOCAL_KEY_FILE_MISSING);
    assert_false(CMK_DEVERR_IS_BREAKER(v));
    assert_int_equal(
        CMK_DEVERR_MAKE(CMK_DEVERR_PROVIDER_GCP, CMK_DEVNUM_NETWORK_ERROR),
        0x30065);
}

/* Every CMK_DEVERR_<PROVIDER>_ and CMK_DEVNUM_ constant of the header
 * has its row above. */
static void test_header_has_no_other(void **state)
{
    char line[512];
    size_t per[6] = {0}, want[6] = {0}, devnum = 0, i;
    FILE *f = fopen(SRCDIR "/include/cmk-pkcs11.h", "r");
    unsigned long p;

    (void)state;
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        for (p = 1; p <= 5; p++) {
            char pre[64];
            size_t at = strlen("#define CMK_DEVERR_");

            snprintf(pre, sizeof(pre), "#define CMK_DEVERR_%s_", names[p]);
            for (i = at; pre[i] != '\0'; i++)
                if (pre[i] >= 'a' && pre[i] <= 'z')
                    pre[i] = (char)(pre[i] - 'a' + 'A');
            if (strncmp(line, pre, strlen(pre)) == 0)
                per[p]++;
        }
        if (strncmp(line, "#define CMK_DEVNUM_", 19) == 0)
            devnum++;
    }
    fclose(f);
    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        want[rows[i].provider]++;
    want[CMK_DEVERR_PROVIDER_GCP]++; /* CMK_DEVERR_GCP_IMPERSONATION() */
    for (p = 1; p <= 5; p++) {
        if (per[p] != want[p])
            fail_msg("%s: %zu constants in the header, %zu rows here", names[p],
                     per[p], want[p]);
    }
    /* the shared numbers, and KEK_LENGTH, BREAKER, OTHER, HTTP() */
    assert_int_equal(devnum, sizeof(shared) / sizeof(shared[0]) + 4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_codes),
        cmocka_unit_test(test_shared_codes),
        cmocka_unit_test(test_own_numbers_and_helpers),
        cmocka_unit_test(test_header_has_no_other),
    };

    return cmocka_run_group_tests(tests, NULL, NULL) != 0;
}
