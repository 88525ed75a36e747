/*
 * rules_set_offsets.cc - prints the offsets of libmodsecurity's RulesSet members, compiled
 * against libmodsecurity's own C++ headers (Debian's libmodsecurity-dev), one "name 0xOFF" per
 * line. ffi/tests/c_smoke.rs compares them with sekisho_ffi::rules::RulesSetProperties.
 */
#include <cstdio>
#include <cstddef>
#include <modsecurity/rules_set.h>
using modsecurity::RulesSet;
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
int main(){
#define O(f) printf("%s 0x%zx\n", #f, offsetof(RulesSet, f));
O(m_auditLog) O(m_requestBodyLimitAction) O(m_responseBodyLimitAction) O(m_secRequestBodyAccess) O(m_secResponseBodyAccess) O(m_secXMLExternalEntity) O(m_tmpSaveUploadedFiles) O(m_uploadKeepFiles) O(m_argumentsLimit) O(m_requestBodyJsonDepthLimit) O(m_requestBodyLimit) O(m_requestBodyNoFilesLimit) O(m_responseBodyLimit) O(m_uploadFileLimit) O(m_uploadFileMode) O(m_debugLog) O(m_remoteRulesActionOnFailed) O(m_secRuleEngine)
printf("m_requestBodyLimit.m_value 0x%zx\n", offsetof(RulesSet, m_requestBodyLimit) + offsetof(modsecurity::ConfigDouble, m_value));
printf("m_responseBodyLimit.m_value 0x%zx\n", offsetof(RulesSet, m_responseBodyLimit) + offsetof(modsecurity::ConfigDouble, m_value));
}
