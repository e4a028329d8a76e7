// Package codec encrypts the payloads the engine hands Temporal (workflow
// inputs and results, activity inputs, signals, updates, queries, memos,
// the workflow's details) with AES-256-GCM, so that free-text reasons and
// anything else a payload may carry are never stored in Temporal's history
// in clear. Every encrypted payload names the key that sealed it, so keys
// rotate without breaking old histories: the first key of the ring seals,
// every key of the ring opens. Payloads that are not encrypted (histories
// written before the codec, search attributes, which Temporal must index
// and never pass through a codec) are passed through unchanged.
package codec

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/proto"
)

// Metadata of an encrypted payload, as in Temporal's encryption samples.
const (
	EncodingEncrypted = "binary/encrypted"
	MetadataKeyID     = "encryption-key-id"
	MetadataCipher    = "encryption-cipher"
	cipherName        = "AES256-GCM"
)

// KeySize is the size of an AES-256 key.
const KeySize = 32

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Keyring is the set of payload keys: the first seals, all open.
type Keyring struct {
	active string
	ids    []string
	aeads  map[string]cipher.AEAD
	dev    bool
}

// The development key: every checkout derives the same one, so histories
// recorded in development and the repository's test fixtures open anywhere;
// production refuses it (config.Insecure).
const devKeyID = "dev"

var devKey = sha256.Sum256([]byte("vkyc development payload key; never use in production"))

// DevKeys is the development default of PAYLOAD_CODEC_KEYS.
func DevKeys() string { return devKeyID + ":" + base64.StdEncoding.EncodeToString(devKey[:]) }

// DevKeyring is the ring of DevKeys.
func DevKeyring() *Keyring {
	k, err := ParseKeys(DevKeys())
	if err != nil {
		panic(err) // a constant key of the right size cannot fail
	}
	return k
}

// ParseKeys reads a key list "id:base64key,id:base64key,...": the first key
// seals, every key opens. Each key is 32 random bytes in standard base64;
// ids are 1 to 64 letters, digits, '.', '_' or '-'. Messages never repeat a
// key.
func ParseKeys(s string) (*Keyring, error) {
	k := &Keyring{aeads: map[string]cipher.AEAD{}}
	for i, item := range strings.Split(s, ",") {
		id, enc, ok := strings.Cut(strings.TrimSpace(item), ":")
		if !ok {
			return nil, fmt.Errorf("key %d: want id:base64key", i+1)
		}
		if !keyIDPattern.MatchString(id) {
			return nil, fmt.Errorf("key %d: the id %q must be 1 to 64 letters, digits, '.', '_' or '-'", i+1, id)
		}
		if _, dup := k.aeads[id]; dup {
			return nil, fmt.Errorf("key id %s is given twice", id)
		}
		key, err := base64.StdEncoding.DecodeString(enc)
		if err != nil {
			return nil, fmt.Errorf("key %s: not standard base64", id)
		}
		if len(key) != KeySize {
			return nil, fmt.Errorf("key %s: %d bytes, want %d (AES-256)", id, len(key), KeySize)
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", id, err)
		}
		k.aeads[id] = aead
		k.ids = append(k.ids, id)
		k.dev = k.dev || subtle.ConstantTimeCompare(key, devKey[:]) == 1
	}
	k.active = k.ids[0]
	return k, nil
}

// ActiveID is the id of the key that seals.
func (k *Keyring) ActiveID() string { return k.active }

// IDs lists the key ids, the sealing one first.
func (k *Keyring) IDs() []string { return append([]string(nil), k.ids...) }

// UsesDevKey reports whether the development key is in the ring.
func (k *Keyring) UsesDevKey() bool { return k.dev }

// Codec is the Temporal payload codec of the ring.
func (k *Keyring) Codec() converter.PayloadCodec { return payloadCodec{k} }

// DataConverter is Temporal's default data converter with payloads sealed
// by the ring: the worker, the API and the starter all use it (through
// config.TemporalClientOptions), and the workflow replay tests too.
func DataConverter(k *Keyring) converter.DataConverter {
	return converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), k.Codec())
}

type payloadCodec struct{ k *Keyring }

// Encode seals each payload (a payload already sealed is left alone).
func (c payloadCodec) Encode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	aead := c.k.aeads[c.k.active]
	for i, p := range payloads {
		if encrypted(p) {
			out[i] = p
			continue
		}
		plain, err := proto.Marshal(p)
		if err != nil {
			return payloads, fmt.Errorf("codec: marshal payload: %w", err)
		}
		nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
		if _, err := rand.Read(nonce); err != nil {
			return payloads, fmt.Errorf("codec: nonce: %w", err)
		}
		out[i] = &commonpb.Payload{
			Metadata: map[string][]byte{
				converter.MetadataEncoding: []byte(EncodingEncrypted),
				MetadataKeyID:              []byte(c.k.active),
				MetadataCipher:             []byte(cipherName),
			},
			// The key id is authenticated data: a payload relabelled with
			// another key id does not open.
			Data: aead.Seal(nonce, nonce, plain, []byte(c.k.active)),
		}
	}
	return out, nil
}

// Decode opens each sealed payload; others pass through.
func (c payloadCodec) Decode(payloads []*commonpb.Payload) ([]*commonpb.Payload, error) {
	out := make([]*commonpb.Payload, len(payloads))
	for i, p := range payloads {
		if !encrypted(p) {
			out[i] = p
			continue
		}
		id := string(p.GetMetadata()[MetadataKeyID])
		aead, ok := c.k.aeads[id]
		if !ok {
			return payloads, fmt.Errorf("codec: payload sealed with key %q, which is not in PAYLOAD_CODEC_KEYS", id)
		}
		n := aead.NonceSize()
		if len(p.GetData()) < n+aead.Overhead() {
			return payloads, errors.New("codec: sealed payload too short")
		}
		plain, err := aead.Open(nil, p.GetData()[:n], p.GetData()[n:], []byte(id))
		if err != nil {
			return payloads, fmt.Errorf("codec: payload sealed with key %q does not open (altered, or another key of that id)", id)
		}
		var inner commonpb.Payload
		if err := proto.Unmarshal(plain, &inner); err != nil {
			return payloads, fmt.Errorf("codec: unmarshal payload: %w", err)
		}
		out[i] = &inner
	}
	return out, nil
}

func encrypted(p *commonpb.Payload) bool {
	return string(p.GetMetadata()[converter.MetadataEncoding]) == EncodingEncrypted
}
