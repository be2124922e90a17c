/* SPDX-License-Identifier: Apache-2.0 */
typedef int cmk_placeholder_store;
